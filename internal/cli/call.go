package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
)

// targetFlags say where a call or cast goes: the flags of an oslo.Target.
type targetFlags struct {
	topic, server, namespace, version, exchange string
}

func (f *targetFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.topic, "topic", "", "topic of the RPC server (required)")
	fs.StringVar(&f.server, "server", "", "one server of the topic (default: any)")
	fs.StringVar(&f.namespace, "namespace", "", "endpoint namespace")
	fs.StringVar(&f.version, "version", "", "requested endpoint version, e.g. 1.2 (oslo's default: 1.0)")
	fs.StringVar(&f.exchange, "exchange", "", "exchange of the target (default: --control-exchange)")
}

func (f *targetFlags) target() oslo.Target {
	return oslo.Target{Topic: f.topic, Server: f.server, Namespace: f.namespace, Version: f.version, Exchange: f.exchange}
}

// requestFlags say where a call or cast goes and what it carries.
type requestFlags struct {
	brokerFlags
	targetFlags
	context     []string
	atLeastOnce bool
}

func (f *requestFlags) register(fs *pflag.FlagSet) {
	f.targetFlags.register(fs)
	fs.StringArrayVar(&f.context, "context", nil, "request context entry key=value (repeatable)")
	fs.BoolVar(&f.atLeastOnce, "at-least-once", true, "fail at once when no queue receives the message (oslo at_least_once)")
}

// request parses the target, METHOD and key=value arguments.
func (f *requestFlags) request(args []string) (target oslo.Target, method string, kwargs, reqCtx map[string]json.RawMessage, err error) {
	method = args[0]
	if method == "" {
		return target, "", nil, nil, usageErrorf("empty METHOD")
	}
	if kwargs, err = parseKeyValues(args[1:], "argument"); err != nil {
		return target, "", nil, nil, usageErrorf("%v", err)
	}
	if reqCtx, err = parseKeyValues(f.context, "--context"); err != nil {
		return target, "", nil, nil, usageErrorf("%v", err)
	}
	return f.target(), method, kwargs, reqCtx, nil
}

type callFlags struct {
	requestFlags
	timeout            time.Duration
	callMonitorTimeout time.Duration
	verbose            bool
}

func newCallCommand() *cobra.Command {
	var f callFlags
	cmd := &cobra.Command{
		Use:   "call --topic TOPIC [flags] METHOD [key=value ...]",
		Short: "Call a method of an oslo.messaging RPC server and print its result",
		Long: `Call sends an RPC call to any oslo.messaging RPC server (Python or oslohost) and
prints the result as JSON on stdout.

Each key=value becomes a keyword argument. A value that is valid JSON is sent
as that JSON (numbers, true, false, null, "quoted strings", objects, arrays);
anything else is sent as a plain string. --context entries are parsed alike.

A remote exception is printed as "Error: remote exception <module>.<Class>:
<message>" (-v adds the remote traceback) and exits with status 1, as do
timeouts and undeliverable messages.`,
		Example: `  oslohost call --topic calc add increment=2
  oslohost call --topic compute --server host-a --version 6.0 get_info name=vm1
  oslohost call --topic echo --context user_id=alice echo value='{"k": [1, 2]}'`,
		Args: requireArgs(1, "METHOD"),
		RunE: runE(func(cmd *cobra.Command, args []string) error { return f.run(cmd, args) }),
	}
	fs := cmd.Flags()
	f.requestFlags.register(fs)
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "how long to wait for the reply")
	fs.DurationVar(&f.callMonitorTimeout, "call-monitor-timeout", 0, "ask for heartbeats and fail when none comes within this (0: off)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print the remote traceback of a remote exception")
	return f.brokerFlags.finish(cmd, "topic")
}

func (f *callFlags) run(cmd *cobra.Command, args []string) error {
	target, method, kwargs, reqCtx, err := f.request(args)
	if err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if f.callMonitorTimeout < 0 {
		return usageErrorf("--call-monitor-timeout must not be negative")
	}
	ctx, t, done, err := f.connect(cmd)
	if err != nil {
		return err
	}
	defer done()
	c := client.New(t, target,
		client.Timeout(f.timeout),
		client.CallMonitorTimeout(f.callMonitorTimeout),
		client.AtLeastOnce(f.atLeastOnce))
	// The client enforces --timeout once the call is sent; this bounds the
	// rest (reply queue, publishing) should the broker go away meanwhile.
	ctx, cancel := context.WithTimeout(ctx, f.timeout+f.connectTimeout)
	defer cancel()
	var result json.RawMessage
	if err := c.Call(ctx, reqCtx, method, kwargs, &result); err != nil {
		return describe(err, target, method, f.timeout, f.verbose)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, result, "", "  "); err != nil {
		return fmt.Errorf("result is not JSON: %w", err)
	}
	out.WriteByte('\n')
	_, err = cmd.OutOrStdout().Write(out.Bytes())
	return err
}

type castFlags struct {
	requestFlags
	fanout bool
}

func newCastCommand() *cobra.Command {
	var f castFlags
	cmd := &cobra.Command{
		Use:   "cast --topic TOPIC [flags] METHOD [key=value ...]",
		Short: "Send a method to an oslo.messaging RPC server without waiting for a result",
		Long: `Cast sends an RPC cast: the server runs the method and sends nothing back.
It prints nothing and exits with status 0 once the broker accepted the message.
With --fanout the cast goes to every server of the topic.

Arguments and --context entries are parsed as for call: valid JSON is sent as
JSON, anything else as a plain string.`,
		Example: `  oslohost cast --topic calc append text=abc
  oslohost cast --topic compute --fanout refresh_cache`,
		Args: requireArgs(1, "METHOD"),
		RunE: runE(func(cmd *cobra.Command, args []string) error { return f.run(cmd, args) }),
	}
	fs := cmd.Flags()
	f.requestFlags.register(fs)
	fs.BoolVar(&f.fanout, "fanout", false, "send to every server of the topic")
	return f.brokerFlags.finish(cmd, "topic")
}

func (f *castFlags) run(cmd *cobra.Command, args []string) error {
	target, method, kwargs, reqCtx, err := f.request(args)
	if err != nil {
		return err
	}
	target.Fanout = f.fanout
	ctx, t, done, err := f.connect(cmd)
	if err != nil {
		return err
	}
	defer done()
	c := client.New(t, target, client.AtLeastOnce(f.atLeastOnce))
	ctx, cancel := context.WithTimeout(ctx, f.connectTimeout)
	defer cancel()
	if err := c.Cast(ctx, reqCtx, method, kwargs); err != nil {
		return describe(err, target, method, f.connectTimeout, false)
	}
	return nil
}

// describe turns a call's or cast's error into what the user reads.
func describe(err error, target oslo.Target, method string, timeout time.Duration, verbose bool) error {
	var remote *client.RemoteError
	var te *client.TimeoutError
	switch {
	case errors.As(err, &remote):
		name := remote.Class
		if remote.Module != "" {
			name = remote.Module + "." + remote.Class
		}
		msg := fmt.Sprintf("remote exception %s: %s", name, remote.Message)
		if tb := strings.TrimRight(remote.TracebackText(), "\n"); verbose && tb != "" {
			msg += "\n\nRemote traceback:\n" + tb
		}
		return errors.New(msg)
	case errors.As(err, &te) && te.CallMonitor:
		return fmt.Errorf("timed out: no reply or heartbeat from %s within the call-monitor timeout (message ID %s)", describeTarget(target), te.MsgID)
	case errors.As(err, &te):
		return fmt.Errorf("timed out after %s waiting for a reply to %s from %s (message ID %s)", timeout, method, describeTarget(target), te.MsgID)
	case errors.Is(err, client.ErrUndeliverable):
		return fmt.Errorf("%w: no queue is bound for %s; is a server listening?", err, describeTarget(target))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timed out: %w", err)
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	}
	return err
}

func describeTarget(t oslo.Target) string {
	s := "topic " + t.RoutingKey()
	if t.Fanout {
		s = "fanout topic " + t.Topic
	}
	if t.Exchange != "" {
		s += " on exchange " + t.Exchange
	}
	return s
}
