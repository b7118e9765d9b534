package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes returned by Main.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command ran and failed
	ExitUsage   = 2 // the command line was wrong
)

// exitError ends a command with an exit code. A nil err means the command
// already told the user why (diagnostics, help text), so Main prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a bad command line detected by a command itself (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// silentExit ends with code, printing nothing more.
func silentExit(code int) error { return &exitError{code: code} }

// Main runs the oslohost command line args (without the program name),
// writing results to stdout and messages to stderr, and returns the exit
// code. It does not call os.Exit. Concurrent calls are safe except for `run`,
// which handles the process's signals.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	// Errors not wrapped by a command come from cobra itself: the command
	// line could not be parsed (unknown command or flag, missing argument).
	code := ExitUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code, err = ee.code, ee.err
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %s\n", err)
		if code == ExitUsage {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "oslohost",
		Short: "Serve and call OpenStack oslo.messaging RPC endpoints",
		Long: `oslohost serves OpenStack-style RPC endpoints, written as plugins, over the
oslo.messaging RabbitMQ protocol, and calls any oslo.messaging RPC server.`,
		Example: `  oslohost validate config.hcl
  oslohost run config.hcl
  oslohost call --topic calc add increment=2
  oslohost ping --topic calc --server local`,
		Args:              cobra.NoArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		RunE: func(cmd *cobra.Command, _ []string) error {
			// No command given: the help, on stderr since it is a usage error.
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return silentExit(ExitUsage)
		},
	}
	root.Version = versionString() // oslohost --version, as oslohost version
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newRunCommand(),
		newValidateCommand(),
		newPlanCommand(),
		newCallCommand(),
		newCastCommand(),
		newPingCommand(),
		newNotifyCommand(),
		newBenchCommand(),
		newStatusCommand(),
		newReloadCommand(),
		newVersionCommand(),
	)
	return root
}

// runE adapts a command body: any error it returns that is not already an
// exitError is a failure (exit 1), as opposed to cobra's own usage errors.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return &exitError{code: ExitFailure, err: err}
	}
}

// requireArgs is cobra.MinimumNArgs naming what is missing.
func requireArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return fmt.Errorf("missing %s", what)
		}
		return nil
	}
}

// isTerminal reports whether w is a terminal, for colored output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
