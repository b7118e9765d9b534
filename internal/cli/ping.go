package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
)

// pingMethod is the method oslo.messaging servers answer when
// rpc_ping_enabled is set, and oslohost always.
const pingMethod = "oslo_rpc_server_ping"

type pingFlags struct {
	brokerFlags
	topic, server, exchange string
	timeout, interval       time.Duration
	count                   int
}

func newPingCommand() *cobra.Command {
	var f pingFlags
	cmd := &cobra.Command{
		Use:   "ping --topic TOPIC --server SERVER [flags]",
		Short: "Check that one RPC server answers (oslo_rpc_server_ping)",
		Long: `Ping calls oslo_rpc_server_ping on one server of a topic and prints "pong" with
the round-trip time. Python oslo.messaging servers answer it when
rpc_ping_enabled is set; oslohost servers always do. The first round trip
includes setting up the reply queue.`,
		Example: `  oslohost ping --topic compute --server host-a
  oslohost ping --topic calc --server local --count 5`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd) }),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.topic, "topic", "", "topic of the RPC server (required)")
	fs.StringVar(&f.server, "server", "", "the server to ping (required)")
	fs.StringVar(&f.exchange, "exchange", "", "exchange of the target (default: --control-exchange)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for each pong")
	fs.IntVarP(&f.count, "count", "c", 1, "number of pings")
	fs.DurationVar(&f.interval, "interval", time.Second, "time between pings")
	return f.brokerFlags.finish(cmd, "topic", "server")
}

func (f *pingFlags) run(cmd *cobra.Command) error {
	if f.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if f.count < 1 {
		return usageErrorf("--count must be at least 1")
	}
	ctx, t, done, err := f.connect(cmd)
	if err != nil {
		return err
	}
	defer done()
	target := oslo.Target{Topic: f.topic, Server: f.server, Exchange: f.exchange}
	c := client.New(t, target, client.Timeout(f.timeout), client.AtLeastOnce(true))
	for i := range f.count {
		if i > 0 {
			select {
			case <-time.After(f.interval):
			case <-ctx.Done():
				return describe(ctx.Err(), target, pingMethod, f.timeout, false)
			}
		}
		rtt, err := f.ping(ctx, c)
		if err != nil {
			return describe(err, target, pingMethod, f.timeout, false)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "pong from %s: time=%s\n", target.RoutingKey(), rtt.Round(10*time.Microsecond))
	}
	return nil
}

func (f *pingFlags) ping(ctx context.Context, c *client.Client) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout+f.connectTimeout)
	defer cancel()
	start := time.Now()
	var reply string
	if err := c.Call(ctx, nil, pingMethod, nil, &reply); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
