package main

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// call calls method and returns its result as JSON text.
func call(t *testing.T, h *sdktest.Harness, method string, args any, opts ...sdktest.CallOption) (string, error) {
	t.Helper()
	var res json.RawMessage
	err := h.Call(context.Background(), method, args, &res, opts...)
	return string(res), err
}

// wantRemoteError checks that err is the Python exception module.class with message.
func wantRemoteError(t *testing.T, err error, module, class, message string) {
	t.Helper()
	var re *sdk.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want %s.%s", err, module, class)
	}
	if re.Module != module || re.Class != class || re.Message != message {
		t.Errorf("error = %s.%s(%q), want %s.%s(%q)", re.Module, re.Class, re.Message, module, class, message)
	}
}

func TestDescribe(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	eps, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(eps)
	want := `[{"Namespace":"","Version":"1.3","Methods":["add","append","delay","long_running_task","subtract"],"LegacyNamespaces":null},` +
		`{"Namespace":"calc_admin","Version":"2.1","Methods":["get_state","reset","version"],"LegacyNamespaces":null}]`
	if string(got) != want {
		t.Errorf("Describe =\n%s\nwant\n%s", got, want)
	}
}

// TestFunctionalSemantics follows oslo.messaging's functional tests: calls in
// order on one endpoint, each with its result or error.
func TestFunctionalSemantics(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	steps := []struct {
		method string
		args   any
		want   string // result as JSON; "" when an error is expected
		class  string // Python class of the expected error
		msg    string
	}{
		{"append", map[string]any{"text": "open"}, `"open"`, "", ""},
		{"append", map[string]any{"text": "stack"}, `"openstack"`, "", ""},
		{"add", map[string]any{"increment": 2}, `2`, "", ""},
		{"add", map[string]any{"increment": 10}, `12`, "", ""},
		{"subtract", map[string]any{"increment": 3}, `9`, "", ""},
		{"subtract", map[string]any{"increment": 10}, "", "ValueError", "ival can't go negative!"},
		{"subtract", map[string]any{"increment": 9}, `0`, "", ""}, // the failed call changed nothing
		{"add", map[string]any{}, "", "TypeError", "Calc.add() missing 1 required positional argument: 'increment'"},
		{"add", map[string]any{"increment": 1, "bogus": 2}, "", "TypeError", "Calc.add() got an unexpected keyword argument 'bogus'"},
		{"add", map[string]any{"increment": "1"}, "", "TypeError", "Calc.add() argument 'increment': expected int, got string"},
		{"append", map[string]any{"txt": "x"}, "", "TypeError", "Calc.append() got an unexpected keyword argument 'txt'"},
		{"append", map[string]any{}, "", "TypeError", "Calc.append() missing 1 required positional argument: 'text'"},
		{"long_running_task", map[string]any{"seconds": 0.01}, `null`, "", ""},
		{"long_running_task", map[string]any{"seconds": -1}, "", "ValueError", "sleep length must be non-negative"},
		{"delay", map[string]any{"seconds": 0.01}, `0.01`, "", ""},
		{"delay", map[string]any{"seconds": 0}, `0`, "", ""},
		{"delay", json.RawMessage(`{"seconds": 1e-9}`), `1e-9`, "", ""},
		{"delay", json.RawMessage(`{"seconds": 0.0}`), `0.0`, "", ""}, // a float stays a float
		{"delay", map[string]any{"seconds": 1e300}, "", "OverflowError", "sleep length is too large"},
		{"multiply", map[string]any{"by": 2}, "", "NoSuchMethod", "Endpoint does not support RPC method multiply"},
	}
	for _, s := range steps {
		got, err := call(t, h, s.method, s.args)
		if s.class == "" {
			if err != nil || got != s.want {
				t.Errorf("%s(%v) = %s, %v; want %s", s.method, s.args, got, err, s.want)
			}
			continue
		}
		var re *sdk.RemoteError
		if !errors.As(err, &re) || re.Class != s.class || re.Message != s.msg {
			t.Errorf("%s(%v) = %s, %v; want %s: %s", s.method, s.args, got, err, s.class, s.msg)
		}
	}
}

func TestSubtractRaisesBuiltinValueError(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	_, err := call(t, h, "subtract", map[string]any{"increment": 1})
	wantRemoteError(t, err, "builtins", "ValueError", "ival can't go negative!")
	if !sdk.IsExpected(err) {
		t.Error("subtract's ValueError is not marked expected")
	}
}

func TestConcurrentAdds(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := call(t, h, "add", map[string]any{"increment": 1}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, err := call(t, h, "get_state", nil, sdktest.Namespace(AdminNamespace), sdktest.Version(AdminVersion)); err != nil || got != `{"ival":50,"sval":""}` {
		t.Errorf("get_state = %s, %v; want ival 50", got, err)
	}
}

func TestRouting(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	if _, err := call(t, h, "append", map[string]any{"text": "x"}); err != nil {
		t.Fatal(err)
	}
	const dispatcher = "oslo_messaging.rpc.dispatcher"
	tests := []struct {
		name            string
		method, ns, ver string
		want            string // result as JSON, or the error class
		wantErr         bool
	}{
		{"admin without version", "version", AdminNamespace, "", "UnsupportedVersion", true}, // no version means 1.0
		{"admin 2.0", "version", AdminNamespace, "2.0", `"2.1"`, false},
		{"admin 2.1", "get_state", AdminNamespace, "2.1", `{"ival":0,"sval":"x"}`, false},
		{"admin too new", "version", AdminNamespace, "2.2", "UnsupportedVersion", true},
		{"admin wrong major", "version", AdminNamespace, "3.0", "UnsupportedVersion", true},
		{"admin method in default namespace", "get_state", "", "", "NoSuchMethod", true},
		{"calc method in admin namespace", "add", AdminNamespace, "2.0", "NoSuchMethod", true},
		{"calc 1.0", "append", "", "1.0", `"xy"`, false},
		{"calc 1.3", "append", "", "1.3", `"xyy"`, false},
		{"calc too new", "append", "", "1.4", "UnsupportedVersion", true},
		{"unknown namespace", "append", "nova", "1.0", "UnsupportedVersion", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args any
			if tt.method == "append" {
				args = map[string]any{"text": "y"}
			}
			got, err := call(t, h, tt.method, args, sdktest.Namespace(tt.ns), sdktest.Version(tt.ver))
			if !tt.wantErr {
				if err != nil || got != tt.want {
					t.Errorf("%s = %s, %v; want %s", tt.method, got, err, tt.want)
				}
				return
			}
			var re *sdk.RemoteError
			if !errors.As(err, &re) || re.Module != dispatcher || re.Class != tt.want {
				t.Errorf("%s = %s, %v; want %s.%s", tt.method, got, err, dispatcher, tt.want)
			}
		})
	}
}

func TestConfigStart(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	if err := h.Configure(map[string]any{"start": 10}); err != nil {
		t.Fatal(err)
	}
	admin := []sdktest.CallOption{sdktest.Namespace(AdminNamespace), sdktest.Version("2.0")}
	steps := []struct {
		method string
		args   any
		opts   []sdktest.CallOption
		want   string
	}{
		{"get_state", nil, admin, `{"ival":10,"sval":""}`},
		{"add", map[string]any{"increment": 1}, nil, `11`},
		{"append", map[string]any{"text": "a"}, nil, `"a"`},
		{"reset", nil, admin, `{"ival":10,"sval":""}`},
		{"subtract", map[string]any{"increment": 10}, nil, `0`},
	}
	for _, s := range steps {
		if got, err := call(t, h, s.method, s.args, s.opts...); err != nil || got != s.want {
			t.Errorf("%s(%v) = %s, %v; want %s", s.method, s.args, got, err, s.want)
		}
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []string{`{"strat": 1}`, `{"start": -1}`, `{"start": "1"}`} {
		t.Run(cfg, func(t *testing.T) {
			h := sdktest.New(t, endpoints()...)
			if err := h.Configure(json.RawMessage(cfg)); err == nil {
				t.Errorf("Configure(%s) succeeded", cfg)
			}
		})
	}
}

// TestSleepHonoursDeadline checks that a call past its deadline stops
// sleeping (goleak in TestMain would catch a goroutine still asleep).
func TestSleepHonoursDeadline(t *testing.T) {
	h := sdktest.New(t, endpoints()...)
	for _, method := range []string{"long_running_task", "delay"} {
		t.Run(method, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := h.Call(ctx, method, map[string]any{"seconds": 60}, nil)
			if err == nil {
				t.Fatalf("%s(seconds=60) with a 50ms deadline succeeded", method)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%s returned after %v", method, d)
			}
		})
	}
	// Called directly, the method returns the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := new(Calc).LongRunningTask(ctx, SecondsArgs{Seconds: "60"}); !errors.Is(err, context.Canceled) {
		t.Errorf("LongRunningTask with a cancelled ctx = %v, want context.Canceled", err)
	}
}
