package pyplugin

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestPythonCalcExample: plugins/examples/python-calc, unchanged, served by
// its own oslo_server.py (oslo_messaging.get_rpc_server) and by oslohost:
// oslo.messaging's functional-test steps give identical results in order.
func TestPythonCalcExample(t *testing.T) {
	pyTopic := pypeer.UniqueName(t, "pycalc")
	hostTopic := pypeer.UniqueName(t, "pyhostcalc")
	startPythonServer(t, filepath.Join(paths.calc, "oslo_server.py"), paths.calc,
		"--url", pypeer.URL(), "--topic", pyTopic, "--server", "local")
	runHost(t, pluginBlock("pycalc", paths.calc, "calc:endpoints", "", "")+serverBlock("pycalc", hostTopic, "local", "pycalc"))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	call := func(method string, args map[string]any) pypeer.Command {
		return pypeer.Command{Method: method, Args: args}
	}
	admin := func(method, version string) pypeer.Command {
		return pypeer.Command{Method: method, Namespace: "calc_admin", Version: version}
	}
	compareScenarios(t, py, pyTopic, hostTopic, []scenario{
		{"functional semantics", []pypeer.Command{
			call("append", map[string]any{"text": "open"}),
			call("append", map[string]any{"text": "stack"}),
			call("add", map[string]any{"increment": 2}),
			call("add", map[string]any{"increment": 10}),
			call("subtract", map[string]any{"increment": 3}),
			call("subtract", map[string]any{"increment": 10}),
			call("subtract", map[string]any{"increment": 9}),
			call("add", nil),
			call("append", map[string]any{"txt": "x"}),
			call("long_running_task", map[string]any{"seconds": 0.01}),
			call("long_running_task", map[string]any{"seconds": -1}),
			call("delay", map[string]any{"seconds": 0.01}),
			call("multiply", map[string]any{"by": 2}),
			admin("get_state", "2.1"),
			admin("version", ""),
			admin("version", "2.0"),
			admin("reset", "2.0"),
			{Method: "append", Version: "1.4", Args: map[string]any{"text": "x"}},
		}, func(t *testing.T, rs []pypeer.Result) {
			want := []string{`"open"`, `"openstack"`, `2`, `12`, `9`, "ValueError", `0`, "TypeError", "TypeError", `null`, "ValueError", `0.01`,
				"NoSuchMethod", `{"ival": 0, "sval": "openstack"}`, "UnsupportedVersion", `"2.1"`, `{"ival": 0, "sval": ""}`, "UnsupportedVersion"}
			for i, r := range rs {
				got := string(r.Result)
				if !r.OK {
					got = r.ExcClass
					if r.ExcClass == "RemoteError" {
						got = r.ExcType
					}
				}
				if got != want[i] {
					t.Errorf("step %d: got %s (%s), want %s", i, got, firstLine(r.Msg), want[i])
				}
			}
		}},
	})
}

// TestPythonCalcExampleConfig: the example's plugin.hcl, as a user runs it
// from the repository root, validates.
func TestPythonCalcExampleConfig(t *testing.T) {
	pypeer.Python(t)
	root := filepath.Dir(filepath.Dir(paths.calc))
	root = filepath.Dir(root)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, paths.host, "validate", "plugins/examples/python-calc/plugin.hcl")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration is valid.") {
		t.Fatalf("validate plugin.hcl: %v\n%s", err, out)
	}
}
