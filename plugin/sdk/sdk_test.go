package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Calc exercises every method shape.
type Calc struct {
	start  int
	closed atomic.Int32
}

type AddArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

func (c *Calc) Add(_ context.Context, a AddArgs) (int, error) { return c.start + a.A + a.B, nil }

func (c *Calc) AddPtr(_ context.Context, a *AddArgs) (int, error) { return a.A + a.B, nil }

func (c *Calc) Keys(_ context.Context, m map[string]any) ([]string, error) {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out, nil
}

func (c *Calc) Echo(_ context.Context, m map[string]any) (any, error) { return m["value"], nil }

func (c *Calc) Ping(context.Context) (string, error) { return "pong", nil }

func (c *Calc) Reset(context.Context) error { return nil }

func (c *Calc) Noop(context.Context, AddArgs) error { return nil }

func (c *Calc) GetHTTPStatus(context.Context) (int, error) { return 200, nil }

// Not RPC methods: no context first, or a lifecycle hook.
func (c *Calc) String() string                                    { return "calc" }
func (c *Calc) Helper(a, b int) int                               { return a + b }
func (c *Calc) Configure(_ context.Context, cfg sdk.Config) error { return cfg.Decode(c) }
func (c *Calc) Close(context.Context) error                       { c.closed.Add(1); return nil }

func (c *Calc) UnmarshalJSON(b []byte) error {
	var v struct {
		Start int `json:"start"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	c.start = v.Start
	return nil
}

func TestDescribe(t *testing.T) {
	h := sdktest.New(t,
		sdk.Endpoint{Impl: &Calc{}},
		sdk.Endpoint{Namespace: "ns", Version: "2.3", LegacyNamespaces: []string{"old"}, Impl: &Calc{}},
	)
	got, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	methods := []string{"add", "add_ptr", "echo", "get_http_status", "keys", "noop", "ping", "reset"}
	want := []sdktest.EndpointInfo{
		{Namespace: "", Version: "1.0", Methods: methods},
		{Namespace: "ns", Version: "2.3", Methods: methods, LegacyNamespaces: []string{"old"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe() = %+v\nwant %+v", got, want)
	}
}

type badArgs struct{}

func (badArgs) Do(context.Context, int) (int, error) { return 0, nil }

type badResults struct{}

func (badResults) Do(context.Context) int { return 0 }

type badParams struct{}

func (badParams) Do(context.Context, AddArgs, int) (int, error) { return 0, nil }

type noMethods struct{}

func (noMethods) Helper() {}

type pointerMethods struct{}

func (*pointerMethods) Do(context.Context) (int, error) { return 0, nil }

type clash struct{}

func (clash) HTTPGet(context.Context) (int, error) { return 0, nil }
func (clash) HttpGet(context.Context) (int, error) { return 0, nil }

func TestInvalidEndpoints(t *testing.T) {
	tests := []struct {
		name string
		ep   sdk.Endpoint
		want string
	}{
		{"nil impl", sdk.Endpoint{}, "Impl is nil"},
		{"bad version", sdk.Endpoint{Version: "1", Impl: &Calc{}}, `version must look like "1.0"`},
		{"args not struct or map", sdk.Endpoint{Impl: badArgs{}}, "method badArgs.Do: args type int"},
		{"results", sdk.Endpoint{Impl: badResults{}}, "method badResults.Do: results must be"},
		{"too many params", sdk.Endpoint{Impl: badParams{}}, "takes 3 parameters"},
		{"no methods", sdk.Endpoint{Impl: noMethods{}}, "noMethods has no RPC methods"},
		{"value with pointer methods", sdk.Endpoint{Impl: pointerMethods{}}, "need Impl to be a pointer"},
		{"name clash", sdk.Endpoint{Impl: clash{}}, `both map to RPC name "http_get"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sdktest.New(t, tt.ep)
			err := h.Configure(nil)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Configure() = %v, want InvalidArgument containing %q", err, tt.want)
			}
			if _, err := h.Client().Describe(context.Background()); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("Describe() after failed Configure = %v, want FailedPrecondition", err)
			}
		})
	}
}

func TestCallShapesAndArgs(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: &Calc{}})
	ctx := context.Background()
	tests := []struct {
		method string
		args   any
		want   string // result JSON
	}{
		{"add", map[string]any{"a": 1, "b": 2}, "3"},
		{"add_ptr", map[string]any{"a": 4, "b": 5}, "9"},
		{"keys", map[string]any{"k": 1}, `["k"]`},
		{"keys", nil, `[]`},
		{"echo", map[string]any{"value": 1152921504606846977}, "1152921504606846977"},
		{"echo", map[string]any{"value": map[string]any{"x": []any{1.5, "<&>", nil}}}, `{"x":[1.5,"<&>",null]}`},
		{"ping", nil, `"pong"`},
		{"reset", nil, "null"},
		{"noop", map[string]any{"a": 1, "b": 2}, "null"},
		{"get_http_status", nil, "200"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.method, tt.args), func(t *testing.T) {
			var got json.RawMessage
			if err := h.Call(ctx, tt.method, tt.args, &got); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("result = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBadArgsAreTypeError(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: &Calc{}})
	tests := []struct {
		name string
		args any
		want string
	}{
		{"string for int", map[string]any{"a": "x", "b": 1}, "Calc.add() argument 'a': expected int, got string"},
		{"float for int", map[string]any{"a": 1, "b": 1.5}, "Calc.add() argument 'b': expected int, got number 1.5"},
		{"not an object", json.RawMessage(`[1,2]`), "Calc.add() argument after ** must be a mapping, not list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Call(context.Background(), "add", tt.args, nil)
			re := remote(t, err)
			if re.Module != "builtins" || re.Class != "TypeError" || re.Message != tt.want {
				t.Errorf("got %s.%s %q, want builtins.TypeError %q", re.Module, re.Class, re.Message, tt.want)
			}
		})
	}
}

func remote(t *testing.T, err error) *sdk.RemoteError {
	t.Helper()
	var re *sdk.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *sdk.RemoteError", err, err)
	}
	return re
}

// Failing returns the error named by its args.
type Failing struct{}

type FailArgs struct {
	Kind string `json:"kind"`
}

var errPlain = errors.New("plain failure")

func (Failing) Fail(ctx context.Context, a FailArgs) (any, error) {
	switch a.Kind {
	case "value":
		return nil, sdk.ValueError("bad value: %s", "v1")
	case "type":
		return nil, sdk.TypeError("wrong type")
	case "key":
		return nil, sdk.KeyError("missing")
	case "runtime":
		return nil, sdk.RuntimeError("broken")
	case "custom":
		e := sdk.NewRemoteError("nova.exception", "InstanceNotFound", "Instance %s could not be found.", "i-1")
		e.Kwargs = map[string]any{"instance_id": "i-1"}
		return nil, e
	case "literal":
		return nil, &sdk.RemoteError{Module: "wire_exc", Class: "WireError", Message: "custom failure", Kwargs: map[string]any{"code": 42}}
	case "wrapped":
		return nil, fmt.Errorf("lookup: %w", sdk.ValueError("inner"))
	case "plain":
		return nil, errPlain
	case "expected":
		return nil, sdk.Expected(sdk.ValueError("expected one"))
	case "expected-plain":
		return nil, sdk.Expected(errPlain)
	case "deadline":
		ctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	case "unserializable":
		return func() {}, nil
	case "panic":
		var m map[string]int
		m["x"] = 1 // nil map write
	}
	return "ok", nil
}

func TestErrorsBecomeFailures(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Failing{}})
	tests := []struct {
		kind          string
		module, class string
		message       string
		args          []any
		kwargs        map[string]any
		expected      bool
	}{
		{"value", "builtins", "ValueError", "bad value: v1", []any{"bad value: v1"}, map[string]any{}, false},
		{"type", "builtins", "TypeError", "wrong type", []any{"wrong type"}, map[string]any{}, false},
		{"key", "builtins", "KeyError", "'missing'", []any{"missing"}, map[string]any{}, false},
		{"runtime", "builtins", "RuntimeError", "broken", []any{"broken"}, map[string]any{}, false},
		{"custom", "nova.exception", "InstanceNotFound", "Instance i-1 could not be found.", []any{"Instance i-1 could not be found."}, map[string]any{"instance_id": "i-1"}, false},
		{"literal", "wire_exc", "WireError", "custom failure", []any{"custom failure"}, map[string]any{"code": 42.0}, false},
		{"wrapped", "builtins", "ValueError", "inner", []any{"inner"}, map[string]any{}, false},
		{"plain", "builtins", "RuntimeError", "plain failure", []any{"plain failure"}, map[string]any{}, false},
		{"expected", "builtins", "ValueError", "expected one", []any{"expected one"}, map[string]any{}, true},
		{"expected-plain", "builtins", "RuntimeError", "plain failure", []any{"plain failure"}, map[string]any{}, true},
		{"deadline", "builtins", "TimeoutError", "context deadline exceeded", []any{"context deadline exceeded"}, map[string]any{}, false},
		{"panic", "builtins", "RuntimeError", "plugin panic: assignment to entry in nil map", []any{"plugin panic: assignment to entry in nil map"}, map[string]any{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			err := h.Call(context.Background(), "fail", map[string]string{"kind": tt.kind}, nil)
			re := remote(t, err)
			if re.Module != tt.module || re.Class != tt.class || re.Message != tt.message {
				t.Errorf("got %s.%s %q, want %s.%s %q", re.Module, re.Class, re.Message, tt.module, tt.class, tt.message)
			}
			if !reflect.DeepEqual(re.Args, tt.args) || !reflect.DeepEqual(re.Kwargs, tt.kwargs) {
				t.Errorf("args %#v kwargs %#v, want %#v %#v", re.Args, re.Kwargs, tt.args, tt.kwargs)
			}
			if got := sdk.IsExpected(err); got != tt.expected {
				t.Errorf("IsExpected = %v, want %v", got, tt.expected)
			}
			tb := re.Traceback
			if len(tb) < 3 || tb[0] != "Traceback (most recent call last):\n" {
				t.Fatalf("traceback %q: want a header and at least one frame", tb)
			}
			if last, want := tb[len(tb)-1], re.QualifiedClass()+": "+tt.message+"\n"; last != want {
				t.Errorf("last traceback line %q, want %q", last, want)
			}
			for _, f := range tb[1 : len(tb)-1] {
				if !strings.HasPrefix(f, "  File \"") || !strings.HasSuffix(f, "\n") {
					t.Errorf("frame %q not Python-shaped", f)
				}
			}
			if !strings.Contains(strings.Join(tb, ""), "Failing.Fail") {
				t.Errorf("traceback %q does not name the method", tb)
			}
		})
	}
	// The plugin keeps serving after a panic.
	var got string
	if err := h.Call(context.Background(), "fail", map[string]string{"kind": "none"}, &got); err != nil || got != "ok" {
		t.Errorf("call after panic = %q, %v", got, err)
	}
}

func TestUnserializableResultIsTypeError(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Failing{}})
	re := remote(t, h.Call(context.Background(), "fail", map[string]string{"kind": "unserializable"}, nil))
	if re.Class != "TypeError" || !strings.Contains(re.Message, "not JSON serializable") {
		t.Errorf("got %v", re)
	}
}

func TestRemoteErrorText(t *testing.T) {
	tests := []struct {
		err  *sdk.RemoteError
		want string
	}{
		{sdk.ValueError("x %d", 1), "ValueError: x 1"},
		{&sdk.RemoteError{Module: "nova.exception", Class: "NotFound", Message: "m"}, "nova.exception.NotFound: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if sdk.Expected(nil) != nil {
		t.Error("Expected(nil) != nil")
	}
	if e := sdk.Expected(errPlain); !errors.Is(e, errPlain) || e.Error() != errPlain.Error() {
		t.Errorf("Expected does not wrap: %v", e)
	}
}

// Inspector reports what the SDK hands a method.
type Inspector struct{}

type InspectResult struct {
	Context  map[string]any `json:"context"`
	Call     sdk.Call       `json:"call"`
	Deadline bool           `json:"deadline"`
	Left     float64        `json:"left"`
}

func (Inspector) Inspect(ctx context.Context) (InspectResult, error) {
	call, ok := sdk.CallInfo(ctx)
	if !ok {
		return InspectResult{}, sdk.RuntimeError("no call info")
	}
	d, has := ctx.Deadline()
	return InspectResult{Context: sdk.RequestContext(ctx), Call: call, Deadline: has, Left: time.Until(d).Seconds()}, nil
}

func (Inspector) Wait(ctx context.Context) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestRequestContextAndCallInfo(t *testing.T) {
	h := sdktest.NewPlugin(t, sdk.Static(sdk.Endpoint{Namespace: "insp", Version: "1.4", Impl: Inspector{}}), sdktest.PluginName("inspector"))
	reqCtx := map[string]any{"user_id": "u1", "request_id": "req-1", "roles": []any{"admin"}, "big": 9007199254740993}
	var got InspectResult
	err := h.Call(context.Background(), "inspect", nil, &got,
		sdktest.Namespace("insp"), sdktest.Version("1.2"), sdktest.Context(reqCtx), sdktest.MsgID("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	wantCall := sdk.Call{PluginName: "inspector", Namespace: "insp", Version: "1.4", Method: "inspect", MsgID: "m-1", RequestNamespace: "insp", RequestVersion: "1.2"}
	if got.Call != wantCall {
		t.Errorf("CallInfo = %+v, want %+v", got.Call, wantCall)
	}
	wantCtx := map[string]any{"user_id": "u1", "request_id": "req-1", "roles": []any{"admin"}, "big": 9007199254740993.0, "client_timeout": nil}
	if !reflect.DeepEqual(got.Context, wantCtx) {
		t.Errorf("RequestContext = %#v, want %#v", got.Context, wantCtx)
	}
	if got.Deadline {
		t.Error("call without deadline has one")
	}

	// Outside a call there is nothing.
	if sdk.RequestContext(context.Background()) != nil {
		t.Error("RequestContext outside a call is not nil")
	}
	if _, ok := sdk.CallInfo(context.Background()); ok {
		t.Error("CallInfo outside a call")
	}
}

func TestRequestContextKeepsBigIntegers(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Inspector{}})
	var raw struct {
		Context json.RawMessage `json:"context"`
	}
	if err := h.Call(context.Background(), "inspect", nil, &raw, sdktest.Context(map[string]any{"big": json.Number("9007199254740993")})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw.Context), `"big":9007199254740993`) {
		t.Errorf("context %s lost precision", raw.Context)
	}
}

func TestDeadline(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Inspector{}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got InspectResult
	if err := h.Call(ctx, "inspect", nil, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Deadline || got.Left <= 0 || got.Left > 5 {
		t.Errorf("deadline %v, %.2fs left; want about 5s", got.Deadline, got.Left)
	}
	if ct, ok := got.Context["client_timeout"].(float64); !ok || ct <= 0 || ct > 5 {
		t.Errorf("client_timeout = %v", got.Context["client_timeout"])
	}

	// The plugin sees the deadline of the request even when the gRPC call has
	// none (the host may run its own deadline handling).
	start := time.Now()
	resp, err := invokeWithDeadline(t, h, "wait", time.Now().Add(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	f := resp.GetFailure()
	if f == nil || f.GetClassName() != "TimeoutError" {
		t.Fatalf("wait past the deadline = %v, want TimeoutError failure", resp)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("deadline not honoured: took %v", el)
	}
}
