package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestHelpExamplesWork: every example of `oslohost --help`, `call --help`,
// `cast --help` and `ping --help` aimed at a bundled example plugin (calc,
// echo, hello, served as config.hcl serves them) works as written, on
// topics of this test's own.
func TestHelpExamplesWork(t *testing.T) {
	names := map[string]string{}
	cfg := transportBlock() + adminBlock
	for _, p := range []struct{ name, bin string }{{"calc", bin.calc}, {"echo", bin.echo}, {"hello", bin.hello}} {
		names[p.name] = pypeer.UniqueName(t, "ex-"+p.name)
		cfg += fmt.Sprintf("plugin %q {\n  command = %q\n}\nserver %q {\n  topic   = %q\n  server  = \"local\"\n  plugins = [%q]\n}\n",
			p.name, p.bin, p.name, names[p.name], p.name)
	}
	runHost(t, writeConfig(t, cfg))
	topicRE := regexp.MustCompile(`--topic (calc|echo|hello)\b`)
	ran := 0
	for _, help := range [][]string{{"--help"}, {"call", "--help"}, {"cast", "--help"}, {"ping", "--help"}} {
		_, stdout, _ := cli(t, t.TempDir(), help...)
		_, examples, _ := strings.Cut(stdout, "Examples:\n")
		examples, _, _ = strings.Cut(examples, "\n\n")
		for _, line := range strings.Split(examples, "\n") {
			line = strings.TrimSpace(line)
			m := topicRE.FindStringSubmatch(line)
			if m == nil || !strings.HasPrefix(line, "oslohost ") {
				continue
			}
			shell := strings.Replace(topicRE.ReplaceAllString(line, "--topic "+names[m[1]]), "oslohost ", bin.host+" ", 1)
			shell += " --url " + pypeer.URL()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := exec.CommandContext(ctx, "sh", "-c", shell).CombinedOutput()
			cancel()
			if err != nil {
				t.Errorf("example %q: %v\n%s", line, err, out)
			}
			ran++
		}
	}
	if ran < 4 {
		t.Fatalf("ran %d examples; the help has fewer aimed at the bundled plugins than expected", ran)
	}
}
