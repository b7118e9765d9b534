package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// TestExplainStart: go-plugin's generic start failures become the cause.
func TestExplainStart(t *testing.T) {
	boiler := "\nThis usually means\n  the plugin was not compiled for this architecture,"
	tests := []struct {
		name   string
		err    string
		stderr string
		want   []string
		not    []string
	}{
		{"exited, SDK error on stderr", "start /p: " + unrecognized + boiler,
			`{"@level":"error","@message":"plugin cannot start","error":"method T.Add: takes 3 parameters","@timestamp":"x"}` + "\n",
			[]string{"start /p: the plugin exited before the go-plugin handshake; its stderr:", "plugin cannot start: error=method T.Add: takes 3 parameters"},
			[]string{"architecture", "@timestamp"}},
		{"exited, plain stderr", "start /p: plugin exited before we could connect", "panic: boom\n",
			[]string{"exited before the go-plugin handshake; its stderr:\n  panic: boom"}, nil},
		{"exited, silent", "start /p: " + unrecognized + boiler, "",
			[]string{"wrote nothing on stderr"}, []string{"architecture"}},
		{"stdout chatter", "start /p: " + unrecognized + "starting up" + boiler, "",
			[]string{`it wrote "starting up" on stdout before the go-plugin handshake`}, []string{"architecture"}},
		{"Go plugin of protocol 1", "start /p: incompatible API version with plugin. Plugin version: 1, Client versions: [2]", "",
			[]string{"start /p: the plugin speaks oslohost plugin protocol version 1 and this host speaks version 2: rebuild the plugin with the current SDK"},
			[]string{"incompatible API"}},
		{"Python plugin of protocol 1", "start /p: plugin exited before we could connect",
			"the host offers protocol versions [2], this plugin speaks [1]\n",
			[]string{"start /p: the plugin speaks oslohost plugin protocol version 1 and this host speaks version 2: rebuild the plugin with the current SDK", "sdk/python"},
			[]string{"exited"}},
		{"Python plugin of a later protocol", "start /p: plugin exited before we could connect",
			"oslohost plugin protocol mismatch: the host speaks version 2, this plugin (oslohost_plugin SDK) speaks 3: run the plugin with …\n",
			[]string{"the plugin speaks oslohost plugin protocol version 3 and this host speaks version 2: the plugin is newer than this host: upgrade oslohost"}, nil},
		{"other errors stay", "start /p: timeout while waiting for plugin to start", "x\n",
			[]string{"start /p: timeout while waiting for plugin to start"}, []string{"stderr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &tailWriter{}
			fmt.Fprint(w, tt.stderr)
			got := explainStart(errors.New(tt.err), w).Error()
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("%q lacks %q", got, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(got, s) {
					t.Errorf("%q has %q", got, s)
				}
			}
		})
	}
}

// TestTailWriter keeps the last lines only, in pieces as written.
func TestTailWriter(t *testing.T) {
	w := &tailWriter{}
	for i := range tailLines + 5 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	fmt.Fprint(w, "part")
	fmt.Fprint(w, "ial")
	got := w.lines()
	if len(got) != tailLines+1 || got[0] != "line 5" || got[len(got)-1] != "partial" {
		t.Fatalf("lines %q", got)
	}
}

func TestBlamedAttr(t *testing.T) {
	if a := BlamedAttr(fmt.Errorf("x: %w", &startError{attr: "config", err: errors.New("no")})); a != "config" {
		t.Errorf("wrapped startError: %q", a)
	}
	if a := BlamedAttr(errors.New("no")); a != "command" {
		t.Errorf("other error: %q", a)
	}
}

// TestStartOldProtocol: a plugin of protocol version 1 is refused at the
// handshake with go-plugin's real error turned into what to do about it.
func TestStartOldProtocol(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "protocol1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/protocol1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	err := Probe(ctx, block("old", bin), nil)
	want := fmt.Sprintf(`plugin "old": start %s: the plugin speaks oslohost plugin protocol version 1 and this host speaks version %d: `+
		"rebuild the plugin with the current SDK", bin, pluginv1.ProtocolVersion)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Probe = %v\nwant it to start with %q", err, want)
	}
	t.Log(err)
	if BlamedAttr(err) != "command" {
		t.Errorf("blamed %q, want command", BlamedAttr(err))
	}
}
