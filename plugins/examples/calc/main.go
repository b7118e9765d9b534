// Command calc is an oslohost plugin with the semantics of oslo.messaging's
// functional-test endpoint (TestServerEndpoint in
// oslo_messaging/tests/functional/utils.py), plus a second endpoint in its
// own namespace that inspects and resets the state.
//
//	client.call(ctxt, "add", increment=2)           # 2
//	client.call(ctxt, "subtract", increment=3)      # raises ValueError
//	client.call(ctxt, "append", text="open")        # "open"
//	client.call(ctxt, "long_running_task", seconds=1)  # None, a second later
//	client.call(ctxt, "delay", seconds=1)           # 1, a second later
//
//	admin = client.prepare(namespace="calc_admin", version="2.1")
//	admin.call(ctxt, "get_state")                   # {"ival": 2, "sval": "open"}
//	admin.call(ctxt, "reset")                       # {"ival": 0, "sval": ""}
//
// The plugin's config block may set the starting value of ival:
//
//	plugin "calc" {
//	  command = "./bin/plugins/calc"
//	  config  = { start = 10 }
//	}
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// The endpoints' targets. A caller asking for a version the endpoint's
// version is compatible with (same major, minor not higher) reaches it;
// others get oslo_messaging.rpc.dispatcher.UnsupportedVersion.
const (
	// Version of the calc endpoint: 1.0 add and subtract, 1.1 append,
	// 1.2 long_running_task, 1.3 delay.
	Version = "1.3"
	// AdminNamespace and AdminVersion are the admin endpoint's target:
	// 2.0 get_state and reset, 2.1 version.
	AdminNamespace = "calc_admin"
	AdminVersion   = "2.1"
)

// Config is the plugin's config block.
type Config struct {
	Start int `json:"start"` // the initial (and reset) value of ival; >= 0
}

// Calc is the calc endpoint. The host calls methods concurrently, so the
// state is guarded by mu.
type Calc struct {
	mu    sync.Mutex
	start int
	ival  int
	sval  string
}

// State is the endpoint's state as get_state and reset return it.
type State struct {
	Ival int    `json:"ival"`
	Sval string `json:"sval"`
}

// Configure is the configure hook (not an RPC method): the host calls it once,
// with the plugin's config block, before any call.
func (c *Calc) Configure(ctx context.Context, cfg sdk.Config) error {
	var conf Config // no config block leaves the defaults
	if err := cfg.Decode(&conf); err != nil {
		return err // e.g. a misspelt key: the plugin does not start
	}
	if conf.Start < 0 {
		return fmt.Errorf("start must not be negative, got %d", conf.Start)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start, c.ival = conf.Start, conf.Start
	sdk.Logger(ctx).Info("configured", "start", conf.Start)
	return nil
}

// IncrementArgs are the keyword arguments of add and subtract:
// def add(self, ctxt, increment). A field without omitempty is required:
// without it the SDK raises Python's TypeError ("Calc.add() missing 1
// required positional argument: 'increment'"), as it does for a keyword
// the method does not take.
type IncrementArgs struct {
	Increment int `json:"increment"`
}

// Add adds increment to ival and returns the new ival.
func (c *Calc) Add(ctx context.Context, args IncrementArgs) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ival += args.Increment
	return c.ival, nil
}

// Subtract subtracts increment from ival and returns the new ival. It raises
// ValueError, leaving ival as it was, when ival would go negative.
func (c *Calc) Subtract(ctx context.Context, args IncrementArgs) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ival < args.Increment {
		// The caller gets builtins.ValueError; Expected keeps this caller's
		// mistake out of the host's failure log.
		return 0, sdk.Expected(sdk.ValueError("ival can't go negative!"))
	}
	c.ival -= args.Increment
	return c.ival, nil
}

// AppendArgs are the keyword arguments of append.
type AppendArgs struct {
	Text string `json:"text"`
}

// Append appends text to sval and returns the new sval.
func (c *Calc) Append(ctx context.Context, args AppendArgs) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sval += args.Text
	return c.sval, nil
}

// SecondsArgs are the keyword arguments of long_running_task and delay.
// A json.Number keeps the number as the caller wrote it, so that delay
// returns seconds=4 as 4 and seconds=4.0 as 4.0, as Python's does (a
// float64 would always go back as a float, 4.0).
type SecondsArgs struct {
	Seconds json.Number `json:"seconds"`
}

// LongRunningTask sleeps for seconds and returns None. Returning only an
// error makes the result None.
func (c *Calc) LongRunningTask(ctx context.Context, args SecondsArgs) error {
	sdk.Logger(ctx).Debug("long running task", "seconds", args.Seconds)
	return sleep(ctx, args.Seconds)
}

// Delay sleeps for seconds and returns seconds. While it sleeps, the host
// keeps the caller's call-monitor heartbeats going.
func (c *Calc) Delay(ctx context.Context, args SecondsArgs) (json.Number, error) {
	if err := sleep(ctx, args.Seconds); err != nil {
		return "", err
	}
	return args.Seconds, nil
}

// Admin is the calc_admin endpoint over the state of a Calc.
type Admin struct {
	calc *Calc
}

// GetState returns ival and sval.
func (a *Admin) GetState(ctx context.Context) (State, error) {
	a.calc.mu.Lock()
	defer a.calc.mu.Unlock()
	return State{Ival: a.calc.ival, Sval: a.calc.sval}, nil
}

// Reset sets ival back to the configured start and sval to "", and returns
// the new state.
func (a *Admin) Reset(ctx context.Context) (State, error) {
	a.calc.mu.Lock()
	defer a.calc.mu.Unlock()
	a.calc.ival, a.calc.sval = a.calc.start, ""
	return State{Ival: a.calc.ival, Sval: a.calc.sval}, nil
}

// Version returns the version of the endpoint serving the call, "2.1".
func (a *Admin) Version(ctx context.Context) (string, error) {
	call, _ := sdk.CallInfo(ctx)
	return call.Version, nil
}

// sleep is Python's time.sleep(seconds), cut short when ctx ends: at the
// caller's deadline, or when the host abandons the call.
func sleep(ctx context.Context, seconds json.Number) error {
	secs, err := seconds.Float64()
	switch {
	case err != nil:
		return sdk.TypeError("'NoneType' object cannot be interpreted as an integer")
	case secs < 0:
		return sdk.ValueError("sleep length must be non-negative")
	case secs > math.MaxInt64/float64(time.Second):
		return sdk.NewRemoteError(sdk.ModuleBuiltins, "OverflowError", "sleep length is too large")
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endpoints returns the plugin's two endpoints, sharing one fresh state.
func endpoints() []sdk.Endpoint {
	calc := &Calc{}
	return []sdk.Endpoint{
		{Version: Version, Impl: calc},
		{Namespace: AdminNamespace, Version: AdminVersion, Impl: &Admin{calc: calc}},
	}
}

func main() {
	sdk.Serve(endpoints()...)
}
