package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestREADMEPluginSnippet: the README's plugin, built in a module of its
// own as the README says (a replace directive: the module path is not
// fetchable), and its config file as written (on a topic of this test's
// own) serve `oslohost call --topic hello hello name=oslo`.
func TestREADMEPluginSnippet(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)## Writing a plugin\n(.*?)\n## ").FindSubmatch(readme)
	if section == nil {
		t.Fatal("README has no section \"Writing a plugin\"")
	}
	blocks := regexp.MustCompile("(?s)```(go|hcl)\n(.*?)```").FindAllSubmatch(section[1], -1)
	if len(blocks) < 2 || string(blocks[0][1]) != "go" || string(blocks[1][1]) != "hcl" {
		t.Fatalf("want a go and an hcl block in \"Writing a plugin\", got %d blocks", len(blocks))
	}
	if !strings.Contains(string(section[1]), "-replace github.com/oslohost/oslohost=") {
		t.Fatal("the README does not say how to build a plugin in its own module")
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), blocks[0][2], 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The same steps as the README's. The module proxy stays on: a new
	// module's minimal requirements can name versions (fatih/color's
	// go-colorable v0.1.9) that no build of this repository put in the cache.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOWORK=off")
	for _, args := range [][]string{
		{"mod", "init", "example.com/greeter"},
		{"mod", "edit", "-require", "github.com/oslohost/oslohost@v0.0.0", "-replace", "github.com/oslohost/oslohost=" + root},
		{"build", "-o", "bin/plugins/hello", "."},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	topic := pypeer.UniqueName(t, "readme")
	hcl := strings.Replace(string(blocks[1][2]), `topic   = "hello"`, `topic   = "`+topic+`"`, 1)
	hcl = strings.Replace(hcl, "rabbit://guest:guest@127.0.0.1:5672/", pypeer.URL(), 1)
	if !strings.Contains(hcl, topic) {
		t.Fatal("the README's server block has no `topic   = \"hello\"` to replace")
	}
	cfg := filepath.Join(dir, "hello.hcl")
	if err := os.WriteFile(cfg, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := cli(t, dir, "validate", "hello.hcl"); code != 0 {
		t.Fatal("validate failed")
	}
	hostproc.Run(t, bin.host, cfg)
	code, stdout, _ := cli(t, dir, "call", "--url", pypeer.URL(), "--topic", topic, "hello", "name=oslo")
	if code != 0 || stdout != "\"hello, oslo\"\n" {
		t.Fatalf("call: exit %d, stdout %q", code, stdout)
	}
}
