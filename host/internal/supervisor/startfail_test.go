package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
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
