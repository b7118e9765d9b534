package cli

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "Available Commands:"},
		{"unknown command", []string{"bogus"}, `Error: unknown command "bogus" for "oslohost"`},
		{"unknown root flag", []string{"--bogus"}, "Error: unknown flag: --bogus"},
		{"call without METHOD", []string{"call", "--topic", "t"}, "Error: missing METHOD"},
		{"call without topic", []string{"call", "m"}, `Error: required flag(s) "topic" not set`},
		{"call unknown flag", []string{"call", "--topic", "t", "--nope", "m"}, "Error: unknown flag: --nope"},
		{"call argument without =", []string{"call", "--topic", "t", "m", "novalue"}, `Error: argument "novalue" is not key=value`},
		{"call argument with empty key", []string{"call", "--topic", "t", "m", "=v"}, "has an empty key"},
		{"call duplicate argument", []string{"call", "--topic", "t", "m", "a=1", "a=2"}, `key "a" given twice`},
		{"call bad context", []string{"call", "--topic", "t", "--context", "x", "m"}, `Error: --context "x" is not key=value`},
		{"call zero timeout", []string{"call", "--topic", "t", "--timeout", "0s", "m"}, "Error: --timeout must be positive"},
		{"call bad duration", []string{"call", "--topic", "t", "--timeout", "soon", "m"}, `invalid argument "soon" for "--timeout"`},
		{"call bad log level", []string{"call", "--topic", "t", "--log-level", "loud", "m"}, `Error: invalid --log-level "loud"`},
		{"call bad url", []string{"call", "--topic", "t", "--url", "http://x/", "m"}, "Error: invalid --url: unsupported transport url scheme"},
		{"call bad connect timeout", []string{"call", "--topic", "t", "--connect-timeout", "0s", "m"}, "Error: --connect-timeout must be positive"},
		{"cast without topic", []string{"cast", "m"}, `Error: required flag(s) "topic" not set`},
		{"cast without METHOD", []string{"cast", "--topic", "t", "--fanout"}, "Error: missing METHOD"},
		{"ping without server", []string{"ping", "--topic", "t"}, `Error: required flag(s) "server" not set`},
		{"ping with an argument", []string{"ping", "--topic", "t", "--server", "s", "extra"}, `Error: unknown command "extra" for "oslohost ping"`},
		{"ping zero count", []string{"ping", "--topic", "t", "--server", "s", "--count", "0"}, "Error: --count must be at least 1"},
		{"run without CONFIG", []string{"run"}, "Error: missing CONFIG"},
		{"validate without CONFIG", []string{"validate"}, "Error: missing CONFIG"},
		{"validate bad log level", []string{"validate", "--log-level", "loud", "x.hcl"}, `Error: invalid --log-level "loud"`},
		{"version with an argument", []string{"version", "x"}, `Error: unknown command "x" for "oslohost version"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit code = %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.HasPrefix(stderr, "Error:") && !regexp.MustCompile(`(?m)^Run 'oslohost[a-z ]*--help' for usage\.$`).MatchString(stderr) {
				t.Errorf("stderr lacks the usage hint:\n%s", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string // in stdout
	}{
		{[]string{"help"}, []string{"Available Commands:", "run ", "validate ", "call ", "cast ", "ping ", "version "}},
		{[]string{"--help"}, []string{"Available Commands:"}},
		{[]string{"help", "call"}, []string{"oslohost call --topic TOPIC [flags] METHOD [key=value ...]", "--call-monitor-timeout", "--context", "--url"}},
		{[]string{"call", "-h"}, []string{"Usage:", "--verbose"}},
		{[]string{"cast", "-h"}, []string{"--fanout"}},
		{[]string{"ping", "-h"}, []string{"--server", "--connect-timeout"}},
		{[]string{"run", "-h"}, []string{"oslohost run CONFIG...", "SIGHUP"}},
		{[]string{"validate", "--help"}, []string{"oslohost validate CONFIG..."}},
		{[]string{"version", "-h"}, []string{"oslohost version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args...)
			if code != ExitOK {
				t.Errorf("exit code = %d, want 0", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not contain %q", w)
				}
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runMain(t, "version")
	if code != ExitOK {
		t.Fatalf("exit code = %d", code)
	}
	want := regexp.MustCompile(`^oslohost \S+ \(` + regexp.QuoteMeta(runtime.Version()) + `, ` + runtime.GOOS + `/` + runtime.GOARCH + `\)\n$`)
	if !want.MatchString(stdout) {
		t.Errorf("stdout = %q, want it to match %s", stdout, want)
	}
}

// TestVersionFlag: `oslohost --version` prints what `oslohost version` does.
func TestVersionFlag(t *testing.T) {
	_, want, _ := runMain(t, "version")
	code, stdout, stderr := runMain(t, "--version")
	if code != 0 || stdout != want || stderr != "" || !strings.HasPrefix(stdout, "oslohost ") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q; want 0 and %q", code, stdout, stderr, want)
	}
}
