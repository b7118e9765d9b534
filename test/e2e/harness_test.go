package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

// bin holds the binaries built once for the package.
var bin struct {
	dir                                    string
	host, hello, echo, calc, faulty, audit string
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "oslohost-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// OSLOHOST_E2E_RACE: the host and plugins under the race detector.
		if err := hostproc.Build(ctx, dir, os.Getenv("OSLOHOST_E2E_RACE") != "",
			"github.com/oslohost/oslohost/cmd/oslohost",
			"github.com/oslohost/oslohost/plugins/examples/hello",
			"github.com/oslohost/oslohost/plugins/examples/echo",
			"github.com/oslohost/oslohost/plugins/examples/calc",
			"github.com/oslohost/oslohost/plugins/examples/audit",
			"github.com/oslohost/oslohost/test/e2e/testdata/faulty"); err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			return 1
		}
		bin.dir = dir
		bin.host = filepath.Join(dir, "oslohost")
		bin.hello = filepath.Join(dir, "hello")
		bin.echo = filepath.Join(dir, "echo")
		bin.calc = filepath.Join(dir, "calc")
		bin.faulty = filepath.Join(dir, "faulty")
		bin.audit = filepath.Join(dir, "audit")
		return m.Run()
	}())
}

// The host process and its helpers are test/hostproc's.
type hostProc = hostproc.Proc

const adminBlock = hostproc.AdminBlock

var (
	writeConfig = hostproc.WriteConfig
	waitFor     = hostproc.WaitFor
	bg          = hostproc.Context
)

// transportBlock is the transport and log blocks every test config starts
// with; see adminBlock.
func transportBlock() string { return hostproc.TransportBlock(pypeer.URL()) }

// runHost starts `oslohost run CONFIG` and waits until it logs "host ready"
// (bounded). It is stopped with SIGTERM at cleanup.
func runHost(t *testing.T, config string) *hostProc { return hostproc.Run(t, bin.host, config) }

// startHost is runHost without waiting for "host ready".
func startHost(t *testing.T, config string) *hostProc { return hostproc.Start(t, bin.host, config) }
