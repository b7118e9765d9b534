// Command faulty is an endpoint plugin that misbehaves on request, for the
// host's end-to-end tests: it panics, hangs past any deadline, or exits;
// builds differ by version and by a start-up mode set with -ldflags:
//
//	-X main.version=v2          what Version answers
//	-X main.mode=exit-at-start  exits before the handshake
//	-X main.mode=bad-config     its configure hook fails
//	-X main.mode=crash-later    exits 1 s after it started serving
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
)

var (
	version = "v1"
	mode    = ""
)

type faulty struct{}

// Configure fails in bad-config builds.
func (faulty) Configure(context.Context, sdk.Config) error {
	if mode == "bad-config" {
		return errors.New("this build refuses every configuration")
	}
	return nil
}

// Ok answers "ok".
func (faulty) Ok(context.Context) (string, error) { return "ok", nil }

// Version answers the build's version.
func (faulty) Version(context.Context) (string, error) { return version, nil }

// Sleep sleeps (honouring the deadline) and says which build did.
func (faulty) Sleep(ctx context.Context, a struct {
	Seconds float64 `json:"seconds"`
}) (string, error) {
	select {
	case <-time.After(time.Duration(a.Seconds * float64(time.Second))):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return fmt.Sprintf("slept on %s", version), nil
}

// Panic panics inside the method.
func (faulty) Panic(context.Context) (string, error) { panic("boom") }

// Hang sleeps for the given seconds, ignoring the call's deadline.
func (faulty) Hang(_ context.Context, a struct {
	Seconds float64 `json:"seconds"`
}) (string, error) {
	time.Sleep(time.Duration(a.Seconds * float64(time.Second)))
	return "woke up", nil
}

// Exit kills the plugin process.
func (faulty) Exit(context.Context) (string, error) {
	os.Exit(3)
	return "", nil
}

func main() {
	switch mode {
	case "exit-at-start":
		fmt.Fprintln(os.Stderr, "this build exits at start")
		os.Exit(1)
	case "crash-later":
		go func() {
			time.Sleep(time.Second)
			os.Exit(2)
		}()
	}
	sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: faulty{}})
}
