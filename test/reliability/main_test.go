package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/test/hostproc"
)

// bin holds the binaries built once for the package.
var bin struct {
	dir, host, faulty string
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "oslohost-reliability-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := hostproc.Build(ctx, dir, false,
			"github.com/oslohost/oslohost/cmd/oslohost",
			"github.com/oslohost/oslohost/test/e2e/testdata/faulty"); err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			return 1
		}
		bin.dir = dir
		bin.host = filepath.Join(dir, "oslohost")
		bin.faulty = filepath.Join(dir, "faulty")
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				return 1
			}
		}
		return code
	}())
}
