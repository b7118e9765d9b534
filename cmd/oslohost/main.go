// Command oslohost serves oslo.messaging RPC endpoints from plugins and calls
// any oslo.messaging RPC server; see internal/cli for the commands.
package main

import (
	"os"

	"github.com/oslohost/oslohost/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
