// Command faulty is an endpoint plugin that misbehaves on request, for the
// host's end-to-end tests: it panics, hangs past any deadline, or exits.
package main

import (
	"context"
	"os"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
)

type faulty struct{}

// Ok answers "ok".
func (faulty) Ok(context.Context) (string, error) { return "ok", nil }

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

func main() { sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: faulty{}}) }
