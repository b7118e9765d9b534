package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

const (
	// DefaultURL is the broker of the client commands when neither --url
	// nor OSLOHOST_TRANSPORT_URL gives one.
	DefaultURL = "rabbit://guest:guest@127.0.0.1:5672/"
	// URLEnv names the environment variable that gives the default --url.
	URLEnv = "OSLOHOST_TRANSPORT_URL"
)

// brokerFlags are the flags every client command (call, cast, ping) has.
type brokerFlags struct {
	url             string
	controlExchange string
	logLevel        string
	connectTimeout  time.Duration
}

func (f *brokerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "oslo transport URL of the broker (default $"+URLEnv+", else "+DefaultURL+")")
	fs.StringVar(&f.controlExchange, "control-exchange", oslo.DefaultControlExchange, "default exchange of the target")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: trace, debug, info, warn, error, off")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 10*time.Second, "how long to try to reach the broker")
}

// finish adds the broker flags after cmd's own, marks the required flags
// and keeps the flags in the order they were added: the end of every
// client command's constructor.
func (f *brokerFlags) finish(cmd *cobra.Command, required ...string) *cobra.Command {
	fs := cmd.Flags()
	f.register(fs)
	for _, name := range required {
		_ = cmd.MarkFlagRequired(name)
	}
	fs.SortFlags = false
	return cmd
}

// check validates the flag values; errors are usage errors.
func (f *brokerFlags) check() error {
	if f.url == "" {
		f.url = os.Getenv(URLEnv)
	}
	if f.url == "" {
		f.url = DefaultURL
	}
	u, err := rabbit.ParseURL(f.url)
	if err != nil {
		return usageErrorf("invalid --url: %v", err)
	}
	if err := u.Options.Validate(); err != nil {
		return usageErrorf("invalid --url options: %v", err)
	}
	if hclog.LevelFromString(f.logLevel) == hclog.NoLevel {
		return usageErrorf("invalid --log-level %q: want trace, debug, info, warn, error or off", f.logLevel)
	}
	if f.connectTimeout <= 0 {
		return usageErrorf("--connect-timeout must be positive")
	}
	return nil
}

// connect is what a client command does first: a context that ends on
// interrupt, and a transport dialled under it. done closes both.
func (f *brokerFlags) connect(cmd *cobra.Command) (ctx context.Context, t *client.Transport, done func(), err error) {
	ctx, stop := interruptContext(cmd.Context())
	t, err = f.dial(ctx, cmd.ErrOrStderr())
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, t, func() { _ = t.Close(); stop() }, nil
}

// dial connects to the broker, giving up after --connect-timeout.
func (f *brokerFlags) dial(ctx context.Context, stderr io.Writer) (*client.Transport, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:   "oslohost",
		Level:  hclog.LevelFromString(f.logLevel),
		Output: stderr,
	})
	dctx, cancel := context.WithTimeoutCause(ctx, f.connectTimeout,
		fmt.Errorf("no connection within %s (--connect-timeout)", f.connectTimeout))
	defer cancel()
	return client.Dial(dctx, client.Config{
		URL:             f.url,
		ControlExchange: f.controlExchange,
		Logger:          log,
		Name:            "oslohost-cli",
	})
}
