package pyplugin

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

// outcome is what a Python caller saw, normalized to what must be identical
// between two servers of the same endpoint class: the traceback is cut to
// the frames from oslo's dispatcher down to the endpoint method (the frame
// above it is the server's own: oslo's RPCServer or the SDK's invoke).
type outcome struct {
	OK         bool
	Result     string // raw JSON as the Python client re-encoded it
	ResultRepr string
	ExcClass   string
	ExcModule  string
	MRO        []string
	Msg        string // first line of str(e)
	ExcType    string
	ExcValue   string // first line
	ExcArgs    any    // string elements cut to their first line
	ExcKwargs  map[string]any
	Isinstance map[string]bool
	Traceback  []string
	Results    []outcome // concurrent calls, sorted
}

// hostRaised are the failures oslohost's dispatcher raises itself (in Go,
// with a traceback of its own): only their last traceback line, the
// qualified class and message, is compared.
var hostRaised = map[string]bool{"NoSuchMethod": true, "UnsupportedVersion": true}

// msgID is an oslo message id (a uuid4 hex), different on every call.
var msgID = regexp.MustCompile(`[0-9a-f]{32}`)

// firstLine is the first line of str(e) or of an exception arg, newlines
// escaped or not, with message ids blanked.
func firstLine(s string) string {
	if lines := tracebackLines(s); len(lines) > 0 {
		return lines[0]
	}
	return ""
}

// tracebackLines splits str(e) of a failed call into lines. A KeyError's
// str and a RemoteError's traceback (a list's repr) carry the newlines
// escaped; lines of only quotes, brackets and commas (the list's syntax)
// are dropped.
func tracebackLines(msg string) []string {
	msg = msgID.ReplaceAllString(strings.ReplaceAll(msg, `\n`, "\n"), "<msg_id>")
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		if strings.Trim(l, "'[], .") != "" {
			out = append(out, l)
		}
	}
	return out
}

func normalize(r pypeer.Result) outcome {
	o := outcome{
		OK: r.OK, Result: string(r.Result), ResultRepr: r.ResultRepr,
		ExcClass: r.ExcClass, ExcModule: r.ExcModule, MRO: r.MRO,
		Msg: firstLine(r.Msg), ExcType: r.ExcType, ExcValue: firstLine(r.ExcValue),
		ExcKwargs: r.ExcKwargs, Isinstance: r.Isinstance,
	}
	if len(r.ExcArgs) > 0 {
		var args []any
		if json.Unmarshal(r.ExcArgs, &args) == nil {
			for i, a := range args {
				if s, ok := a.(string); ok {
					args[i] = firstLine(s)
				}
			}
			o.ExcArgs = args
		}
	}
	if !r.OK && r.Msg != "" {
		lines := tracebackLines(r.Msg)
		from := -1
		for i, l := range lines {
			if strings.Contains(l, "oslo_messaging/rpc/dispatcher.py") {
				from = i
				break
			}
		}
		switch {
		case hostRaised[r.ExcClass] || hostRaised[r.ExcType] || from < 0:
			o.Traceback = lines[len(lines)-1:]
		default:
			o.Traceback = lines[from:]
		}
	}
	for _, x := range r.Results {
		o.Results = append(o.Results, normalize(x))
	}
	sort.Slice(o.Results, func(i, j int) bool { return o.Results[i].Result < o.Results[j].Result })
	return o
}

// scenario is one item of the interop list: commands run in order against
// each server of the pair; check asserts on the results of one of them.
type scenario struct {
	name  string
	steps []pypeer.Command
	check func(t *testing.T, rs []pypeer.Result)
}

func wantOK(want string) func(*testing.T, []pypeer.Result) {
	return func(t *testing.T, rs []pypeer.Result) {
		t.Helper()
		r := rs[len(rs)-1]
		if !r.OK || string(r.Result) != want {
			t.Fatalf("got ok=%v %s (%s.%s %s), want %s", r.OK, r.Result, r.ExcModule, r.ExcClass, firstLine(r.Msg), want)
		}
	}
}

func wantRemote(excType, msg string) func(*testing.T, []pypeer.Result) {
	return func(t *testing.T, rs []pypeer.Result) {
		t.Helper()
		r := rs[len(rs)-1]
		if r.OK || r.ExcClass != "RemoteError" || r.ExcType != excType || firstLine(r.ExcValue) != msg {
			t.Fatalf("got ok=%v %s.%s exc_type=%q value=%q, want RemoteError %s %q", r.OK, r.ExcModule, r.ExcClass, r.ExcType, firstLine(r.ExcValue), excType, msg)
		}
	}
}

func wantBuiltin(class, msg string) func(*testing.T, []pypeer.Result) {
	return func(t *testing.T, rs []pypeer.Result) {
		t.Helper()
		r := rs[len(rs)-1]
		if r.OK || r.ExcClass != class || r.ExcModule != "builtins" || !r.Isinstance[class] || firstLine(r.Msg) != msg {
			t.Fatalf("got ok=%v %s.%s isinstance=%v msg=%q, want builtins.%s %q", r.OK, r.ExcModule, r.ExcClass, r.Isinstance, firstLine(r.Msg), class, msg)
		}
	}
}

// TestInteropParity runs the host's interop list with the Python
// oslo.messaging client against testdata/interop_endpoints.py served twice:
// by oslo_messaging.get_rpc_server and by oslohost with the Python SDK,
// two servers (srv-a, srv-b) each. Every scenario's outcomes must be
// identical, and as expected.
func TestInteropParity(t *testing.T) {
	pyTopic := pypeer.UniqueName(t, "pyoslo")
	hostTopic := pypeer.UniqueName(t, "pyhost")
	const factory = "interop_endpoints:endpoints"
	for _, s := range []string{"srv-a", "srv-b"} {
		startOsloServer(t, paths.testdata, factory, `{"server": "`+s+`"}`, pyTopic, s)
	}
	runHost(t, pluginBlock("pa", paths.testdata, factory, "", `{ server = "srv-a" }`)+
		pluginBlock("pb", paths.testdata, factory, "", `{ server = "srv-b" }`)+
		serverBlock("a", hostTopic, "srv-a", "pa")+serverBlock("b", hostTopic, "srv-b", "pb"))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})

	ctxt := map[string]any{"user_id": "u1", "project_id": "p1", "roles": []string{"admin"}, "is_admin": true, "request_id": "req-1"}
	big := strings.Repeat("x", 1<<20)
	a := func(c pypeer.Command) pypeer.Command { c.Server = "srv-a"; return c }
	scenarios := []scenario{
		{"call with context, unicode and nested JSON", []pypeer.Command{a(pypeer.Command{Method: "echo", Ctxt: ctxt,
			Args: map[string]any{"value": "h\u00e9llo \u2603 \U0001F600", "number": 7, "big": 12345678901234567, "nested": map[string]any{"a": []any{1, 2.5, nil, true}}}})},
			func(t *testing.T, rs []pypeer.Result) {
				var got struct {
					Value    string
					CtxtSeen map[string]any `json:"ctxt_seen"`
				}
				if err := rs[0].Decode(&got); err != nil || got.Value != "h\u00e9llo \u2603 \U0001F600" || got.CtxtSeen["request_id"] != "req-1" {
					t.Fatalf("echo: %s %v", rs[0].Result, err)
				}
			}},
		{"exact JSON types", []pypeer.Command{a(pypeer.Command{Method: "types"})}, func(t *testing.T, rs []pypeer.Result) {
			if !rs[0].OK || !strings.Contains(string(rs[0].Result), `"float": 1.0`) || !strings.Contains(string(rs[0].Result), `"big": 9223372036854775807`) {
				t.Fatalf("types: %s", rs[0].Result)
			}
		}},
		{"none result", []pypeer.Command{a(pypeer.Command{Method: "none_result"})}, wantOK("null")},
		{"cast", []pypeer.Command{
			a(pypeer.Command{Op: pypeer.OpCast, Method: "record", Args: map[string]any{"n": "cast-1"}, Ctxt: ctxt}),
			a(pypeer.Command{Method: "recorded", Args: map[string]any{"wait_for": "cast-1"}}),
		}, func(t *testing.T, rs []pypeer.Result) {
			if !rs[0].OK || !strings.Contains(string(rs[1].Result), `"cast-1"`) {
				t.Fatalf("cast: %s; recorded %s", rs[0].Msg, rs[1].Result)
			}
		}},
		{"fanout reaches every server", []pypeer.Command{
			{Op: pypeer.OpCast, Fanout: true, Method: "record", Args: map[string]any{"n": "fan"}},
			{Server: "srv-a", Method: "recorded", Args: map[string]any{"wait_for": "fan"}},
			{Server: "srv-b", Method: "recorded", Args: map[string]any{"wait_for": "fan"}},
		}, func(t *testing.T, rs []pypeer.Result) {
			for _, r := range rs[1:] {
				if !strings.Contains(string(r.Result), `"fan"`) {
					t.Fatalf("recorded after fanout: %s", r.Result)
				}
			}
		}},
		{"a specific server among several", []pypeer.Command{{Server: "srv-b", Method: "whoami"}, {Server: "srv-a", Method: "whoami"}}, wantOK(`"srv-a"`)},
		{"ValueError seen as ValueError", []pypeer.Command{a(pypeer.Command{Method: "fail_value", Args: map[string]any{"msg": "py says no"}, CheckIsinstance: []string{"ValueError"}})},
			wantBuiltin("ValueError", "py says no")},
		{"expected exception", []pypeer.Command{a(pypeer.Command{Method: "fail_expected", CheckIsinstance: []string{"ValueError"}})},
			wantBuiltin("ValueError", "this one is expected")},
		{"KeyError", []pypeer.Command{a(pypeer.Command{Method: "fail_key", Args: map[string]any{"key": "k1"}, CheckIsinstance: []string{"KeyError"}})},
			wantBuiltin("KeyError", `'\'k1\'`)},
		{"TypeError for bad arguments", []pypeer.Command{a(pypeer.Command{Method: "fail_value", Args: map[string]any{"nope": 1}, CheckIsinstance: []string{"TypeError"}})},
			wantBuiltin("TypeError", "DefaultEndpoint.fail_value() got an unexpected keyword argument 'nope'")},
		{"TypeError for a missing argument", []pypeer.Command{a(pypeer.Command{Method: "slow", CheckIsinstance: []string{"TypeError"}})},
			wantBuiltin("TypeError", "DefaultEndpoint.slow() missing 1 required positional argument: 'seconds'")},
		{"a data attribute called as a method", []pypeer.Command{a(pypeer.Command{Method: "data_attribute", CheckIsinstance: []string{"TypeError"}})},
			wantBuiltin("TypeError", "'str' object is not callable")},
		{"target called as a method", []pypeer.Command{a(pypeer.Command{Method: "target", Namespace: "ns1", Version: "1.0", CheckIsinstance: []string{"TypeError"}})},
			wantBuiltin("TypeError", "Target.__call__() takes 1 positional argument but 2 were given")},
		{"custom exception from a module the client does not allow", []pypeer.Command{a(pypeer.Command{Method: "fail_custom", Args: map[string]any{"msg": "custom failure", "code": 9}})},
			wantRemote("WireError", "custom failure")},
		{"unknown method", []pypeer.Command{a(pypeer.Command{Method: "does_not_exist"})},
			wantRemote("NoSuchMethod", "Endpoint does not support RPC method does_not_exist")},
		{"private method", []pypeer.Command{a(pypeer.Command{Method: "_private"})},
			wantRemote("NoSuchMethod", "Endpoint does not support RPC method _private")},
		{"version 7.0 served by a 7.5 endpoint", []pypeer.Command{a(pypeer.Command{Method: "v75", Version: "7.0"})}, wantOK(`"7.5"`)},
		{"version 7.6 unsupported", []pypeer.Command{a(pypeer.Command{Method: "v75", Version: "7.6"})},
			wantRemote("UnsupportedVersion", "Endpoint does not support RPC version 7.6. Attempted method: v75")},
		{"namespace and version", []pypeer.Command{a(pypeer.Command{Method: "vmeth", Namespace: "ns1", Version: "1.2"})}, wantOK(`"ns1 endpoint, version 1.3"`)},
		{"namespace, version too new", []pypeer.Command{a(pypeer.Command{Method: "vmeth", Namespace: "ns1", Version: "1.4"})},
			wantRemote("UnsupportedVersion", "Endpoint does not support RPC version 1.4. Attempted method: vmeth")},
		{"unknown namespace", []pypeer.Command{a(pypeer.Command{Method: "vmeth", Namespace: "nope"})},
			wantRemote("UnsupportedVersion", "Endpoint does not support RPC version 1.0. Attempted method: vmeth")},
		{"long call kept alive by the call monitor", []pypeer.Command{a(pypeer.Command{Method: "slow", Args: map[string]any{"seconds": 4}, Timeout: 3600, CallMonitorTimeout: 2})},
			func(t *testing.T, rs []pypeer.Result) {
				wantOK(`"slept 4"`)(t, rs)
				if rs[0].Elapsed < 4 {
					t.Fatalf("returned after %.2fs", rs[0].Elapsed)
				}
			}},
		{"call times out", []pypeer.Command{a(pypeer.Command{Method: "slow", Args: map[string]any{"seconds": 3}, Timeout: 1})},
			func(t *testing.T, rs []pypeer.Result) {
				if rs[0].OK || rs[0].ExcClass != "MessagingTimeout" {
					t.Fatalf("got ok=%v %s", rs[0].OK, rs[0].ExcClass)
				}
			}},
		{"1 MiB payload", []pypeer.Command{a(pypeer.Command{Method: "echo", Args: map[string]any{"value": big}})},
			func(t *testing.T, rs []pypeer.Result) {
				var got struct{ Value string }
				if err := rs[0].Decode(&got); err != nil || got.Value != big {
					t.Fatalf("1 MiB echo: ok=%v err=%v len=%d", rs[0].OK, err, len(got.Value))
				}
			}},
		{"200 concurrent calls", []pypeer.Command{a(pypeer.Command{Op: pypeer.OpConcurrentCalls, N: 200, Method: "whoami", Timeout: 60})},
			func(t *testing.T, rs []pypeer.Result) {
				if !rs[0].OK || len(rs[0].Results) != 200 {
					t.Fatalf("ok=%v results=%d", rs[0].OK, len(rs[0].Results))
				}
				for _, r := range rs[0].Results {
					if !r.OK || string(r.Result) != `"srv-a"` {
						t.Fatalf("a call: ok=%v %s %s", r.OK, r.Result, r.Msg)
					}
				}
			}},
	}

	compareScenarios(t, py, pyTopic, hostTopic, scenarios)
}

// compareScenarios runs each scenario against the Python oslo server on
// pyTopic and oslohost on hostTopic at once; their normalized outcomes must
// be identical, and each must pass the scenario's check.
func compareScenarios(t *testing.T, py *pypeer.Client, pyTopic, hostTopic string, scenarios []scenario) {
	run := func(t *testing.T, topic string, steps []pypeer.Command) []pypeer.Result {
		t.Helper()
		var rs []pypeer.Result
		for _, c := range steps {
			c.Topic = topic
			if c.Op == "" {
				c.Op = pypeer.OpCall
			}
			if c.Timeout == 0 {
				c.Timeout = 20
			}
			r, err := py.Do(hostproc.Context(t, 90*time.Second), c)
			if err != nil {
				t.Fatalf("python client: %v\n%s", err, py.Stderr())
			}
			rs = append(rs, r)
		}
		return rs
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var osloRs, hostRs []pypeer.Result
			done := make(chan struct{})
			go func() { // both servers at once: the slow scenarios take half the time
				defer close(done)
				osloRs = run(t, pyTopic, sc.steps)
			}()
			hostRs = run(t, hostTopic, sc.steps)
			<-done
			if t.Failed() {
				return
			}
			var want, got []outcome
			for i := range osloRs {
				want, got = append(want, normalize(osloRs[i])), append(got, normalize(hostRs[i]))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("oslohost + Python plugin differs from the Python oslo server (-oslo +oslohost):\n%s", d)
			}
			t.Run("oslo server", func(t *testing.T) { sc.check(t, osloRs) })
			t.Run("oslohost", func(t *testing.T) { sc.check(t, hostRs) })
		})
	}
}

// TestSerializerParity: an endpoint taking and returning Nova objects,
// served with Nova's RPC serializer (RequestContextSerializer over
// NovaObjectSerializer) by oslo's get_rpc_server and by oslohost (the
// plugin's --serializer): the same entities and contexts, both ways.
func TestSerializerParity(t *testing.T) {
	pyTopic := pypeer.UniqueName(t, "pynova")
	hostTopic := pypeer.UniqueName(t, "pyhostnova")
	startOsloServer(t, paths.testdata, "novaobjs:endpoints", "{}", pyTopic, "s1", "--serializer", "novaobjs:serializer")
	runHost(t, pluginBlock("nova", paths.testdata, "novaobjs:endpoints", `"--serializer", "novaobjs:serializer"`, "")+
		serverBlock("nova", hostTopic, "s1", "nova"))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	keypair := map[string]any{
		"nova_object.name": "KeyPair", "nova_object.namespace": "nova", "nova_object.version": "1.4",
		"nova_object.data":    map[string]any{"name": "k1", "user_id": "u1", "fingerprint": "f", "public_key": "pk", "type": "ssh"},
		"nova_object.changes": []string{"name"},
	}
	ctxt := map[string]any{"user_id": "u1", "project_id": "p1", "request_id": "req-nova", "is_admin": false}
	ns := func(c pypeer.Command) pypeer.Command {
		c.Namespace, c.Version, c.Ctxt = "keypairs", "1.1", ctxt
		return c
	}
	compareScenarios(t, py, pyTopic, hostTopic, []scenario{
		{"a Nova object in and out", []pypeer.Command{ns(pypeer.Command{Method: "rename", Args: map[string]any{"keypair": keypair, "name": "k2"}})},
			func(t *testing.T, rs []pypeer.Result) {
				var got map[string]any
				if err := rs[0].Decode(&got); err != nil || got["nova_object.name"] != "KeyPair" || got["nova_object.data"].(map[string]any)["name"] != "k2" {
					t.Fatalf("rename: ok=%v %s %s", rs[0].OK, rs[0].Result, firstLine(rs[0].Msg))
				}
			}},
		{"the context deserialized", []pypeer.Command{ns(pypeer.Command{Method: "context"})},
			wantOK(`{"class": "nova.context.RequestContext", "user_id": "u1", "project_id": "p1", "request_id": "req-nova", "is_admin": false}`)},
		{"a Nova exception", []pypeer.Command{ns(pypeer.Command{Method: "fail_nova", Args: map[string]any{"keypair_name": "k9"}})},
			wantRemote("KeypairNotFound", "Keypair k9 not found for user u1")},
	})
}

// TestAccessPolicyParity: oslo's ExplicitRPCAccessPolicy (only
// @oslo_messaging.expose methods) as the plugin's --access-policy.
func TestAccessPolicyParity(t *testing.T) {
	pyTopic := pypeer.UniqueName(t, "pyexpl")
	hostTopic := pypeer.UniqueName(t, "pyhostexpl")
	const factory = "interop_endpoints:endpoints"
	startOsloServer(t, paths.testdata, factory, "{}", pyTopic, "s1", "--access-policy", "explicit")
	runHost(t, pluginBlock("expl", paths.testdata, factory, `"--access-policy", "explicit"`, "")+
		serverBlock("expl", hostTopic, "s1", "expl"))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	compareScenarios(t, py, pyTopic, hostTopic, []scenario{
		{"an exposed method", []pypeer.Command{{Namespace: "explicit", Method: "shown"}}, wantOK(`"shown"`)},
		{"a method not exposed", []pypeer.Command{{Namespace: "explicit", Method: "hidden"}},
			wantRemote("NoSuchMethod", "Endpoint does not support RPC method hidden")},
		{"no method exposed in the default namespace", []pypeer.Command{{Method: "echo"}},
			wantRemote("NoSuchMethod", "Endpoint does not support RPC method echo")},
	})
}
