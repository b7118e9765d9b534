package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newHarness(t *testing.T) *sdktest.Harness {
	return sdktest.New(t, sdk.Endpoint{Version: "1.0", Impl: Echo{}})
}

func TestEcho(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		args string // the request's args object, as JSON
		want string // the result, as JSON
	}{
		{"string", `{"value": "x"}`, `"x"`},
		{"big int", `{"value": 123456789012345678901234567890}`, `123456789012345678901234567890`},
		{"float", `{"value": 2.50}`, `2.50`},
		{"nested", `{"value": {"a": [1, null, true, "x"]}}`, `{"a":[1,null,true,"x"]}`},
		{"null", `{"value": null}`, `null`},
		{"missing", `{}`, `null`},
		{"float stays float", `{"value": 1.0}`, `1.0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got json.RawMessage
			if err := h.Call(context.Background(), "echo", json.RawMessage(tt.args), &got); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("echo(%s) = %s, want %s", tt.args, got, tt.want)
			}
		})
	}
}

// TestEchoUnknownKeyword: echo takes only value, so another keyword is
// Python's TypeError.
func TestEchoUnknownKeyword(t *testing.T) {
	h := newHarness(t)
	err := h.Call(context.Background(), "echo", json.RawMessage(`{"value": 1, "extra": 2}`), nil)
	var re *sdk.RemoteError
	if !errors.As(err, &re) || re.Class != "TypeError" || re.Message != "Echo.echo() got an unexpected keyword argument 'extra'" {
		t.Fatalf("echo(value=1, extra=2) = %v, want TypeError", err)
	}
}

func TestEchoKwargs(t *testing.T) {
	h := newHarness(t)
	var got json.RawMessage
	args := json.RawMessage(`{"a": 18446744073709551617, "b": "x", "c": [1.5]}`)
	if err := h.Call(context.Background(), "echo_kwargs", args, &got); err != nil {
		t.Fatal(err)
	}
	if want := `{"a":18446744073709551617,"b":"x","c":[1.5]}`; string(got) != want {
		t.Errorf("echo_kwargs = %s, want %s", got, want)
	}
}

func TestEchoContext(t *testing.T) {
	h := newHarness(t)
	reqCtx := map[string]any{"user_id": "u1", "project_id": "p1", "request_id": "req-1", "roles": []any{"admin"}}
	var got map[string]any
	if err := h.Call(context.Background(), "echo_context", nil, &got, sdktest.Context(reqCtx)); err != nil {
		t.Fatal(err)
	}
	for k, v := range reqCtx {
		if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(t, v) {
			t.Errorf("context[%q] = %s, want %s", k, gb, mustJSON(t, v))
		}
	}
	// The host adds client_timeout; without a deadline it is None.
	if v, ok := got["client_timeout"]; !ok || v != nil {
		t.Errorf("context[client_timeout] = %v (present %v), want None", v, ok)
	}
}

func TestRaiseError(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		args                 map[string]any
		module, class, error string
	}{
		{map[string]any{"message": "boom"}, "builtins", "ValueError", "ValueError: boom"},
		{map[string]any{"exc_class": "KeyError", "message": "k"}, "builtins", "KeyError", "KeyError: k"},
		{map[string]any{"exc_module": "nova.exception", "exc_class": "InstanceNotFound", "message": "gone"},
			"nova.exception", "InstanceNotFound", "nova.exception.InstanceNotFound: gone"},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			err := h.Call(context.Background(), "raise_error", tt.args, nil)
			var re *sdk.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("raise_error(%v) = %v, want a *sdk.RemoteError", tt.args, err)
			}
			if re.Module != tt.module || re.Class != tt.class || err.Error() != tt.error {
				t.Errorf("raise_error(%v) = %s (module %q, class %q), want %s", tt.args, err, re.Module, re.Class, tt.error)
			}
			if !sdk.IsExpected(err) {
				t.Errorf("raise_error(%v) is not marked expected", tt.args)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
