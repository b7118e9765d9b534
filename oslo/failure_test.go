package oslo

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnmarshalFailure(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    *Failure
		wantErr bool
	}{
		{
			name: "minimal: tb, args, kwargs default (A.13 B14)",
			data: `{"class": "RuntimeError", "module": "builtins", "message": "minimal"}`,
			want: &Failure{Class: "RuntimeError", Module: "builtins", Message: "minimal",
				Traceback: []string{}, Args: json.RawMessage("[]"), Kwargs: json.RawMessage("{}")},
		},
		{
			name: "nulls default too",
			data: `{"class": "E", "module": "m", "message": "x", "tb": null, "args": null, "kwargs": null}`,
			want: &Failure{Class: "E", Module: "m", Message: "x",
				Traceback: []string{}, Args: json.RawMessage("[]"), Kwargs: json.RawMessage("{}")},
		},
		{
			name: "class only",
			data: `{"class": "E"}`,
			want: &Failure{Class: "E", Traceback: []string{}, Args: json.RawMessage("[]"), Kwargs: json.RawMessage("{}")},
		},
		{
			name: "everything, unknown keys ignored",
			data: `{"class": "WireError", "module": "wire_exc", "message": "m", "tb": ["a\n", "b\n"], "args": ["m", 1], "kwargs": {"code": 7}, "extra": true}`,
			want: &Failure{Class: "WireError", Module: "wire_exc", Message: "m",
				Traceback: []string{"a\n", "b\n"}, Args: json.RawMessage(`["m", 1]`), Kwargs: json.RawMessage(`{"code": 7}`)},
		},
		{name: "no class", data: `{"module": "builtins", "message": "x"}`, wantErr: true},
		{name: "empty class", data: `{"class": ""}`, wantErr: true},
		{name: "class a number", data: `{"class": 1}`, wantErr: true},
		{name: "tb a string", data: `{"class": "E", "tb": "x"}`, wantErr: true},
		{name: "array", data: `["E"]`, wantErr: true},
		{name: "null", data: `null`, wantErr: true},
		{name: "not JSON", data: `E: x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalFailure([]byte(tt.data))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("UnmarshalFailure = %+v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalFailure: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("UnmarshalFailure (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalFailureDefaults(t *testing.T) {
	f := &Failure{Class: "E", Module: "m", Message: "<x> & y"}
	got, err := MarshalFailure(f)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "failure", got,
		[]byte(`{"class": "E", "module": "m", "message": "<x> & y", "tb": [], "args": [], "kwargs": {}}`))
	if f.Traceback != nil || f.Args != nil || f.Kwargs != nil {
		t.Errorf("MarshalFailure modified its argument: %+v", f)
	}
	back, err := UnmarshalFailure(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Message != f.Message {
		t.Errorf("message %q came back as %q", f.Message, back.Message)
	}
}

func TestFailureConstructors(t *testing.T) {
	tests := []struct {
		name          string
		f             *Failure
		class, module string
		message       string
		qualified     string
	}{
		{"builtin", BuiltinError("ValueError", "bad value: v1"), "ValueError", "builtins", "bad value: v1", "ValueError"},
		{"custom", NewFailure("nova.exception", "InstanceNotFound", "Instance x could not be found."),
			"InstanceNotFound", "nova.exception", "Instance x could not be found.", "nova.exception.InstanceNotFound"},
		{"no such method", NoSuchMethod("does_not_exist"), "NoSuchMethod", ModuleDispatcher,
			"Endpoint does not support RPC method does_not_exist", "oslo_messaging.rpc.dispatcher.NoSuchMethod"},
		{"unsupported version", UnsupportedVersion("1.4", "vmeth"), "UnsupportedVersion", ModuleDispatcher,
			"Endpoint does not support RPC version 1.4. Attempted method: vmeth", "oslo_messaging.rpc.dispatcher.UnsupportedVersion"},
		{"unsupported version, no method", UnsupportedVersion("2.0", ""), "UnsupportedVersion", ModuleDispatcher,
			"Endpoint does not support RPC version 2.0", "oslo_messaging.rpc.dispatcher.UnsupportedVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if f.Class != tt.class || f.Module != tt.module || f.Message != tt.message {
				t.Errorf("got %s / %s / %q", f.Module, f.Class, f.Message)
			}
			if f.QualifiedClass() != tt.qualified {
				t.Errorf("QualifiedClass() = %q, want %q", f.QualifiedClass(), tt.qualified)
			}
			if want := tt.qualified + ": " + tt.message; f.Error() != want {
				t.Errorf("Error() = %q, want %q", f.Error(), want)
			}
			assertJSONEqual(t, "args", f.Args, mustJSON(t, []string{tt.message}))
			assertJSONEqual(t, "kwargs", f.Kwargs, []byte("{}"))
			if len(f.Traceback) == 0 || f.Traceback[0] != "Traceback (most recent call last):\n" ||
				f.Traceback[len(f.Traceback)-1] != f.Error()+"\n" {
				t.Errorf("traceback = %q", f.Traceback)
			}
			var err error = f
			var back *Failure
			if !errors.As(err, &back) || back != f {
				t.Error("*Failure does not work with errors.As")
			}
		})
	}
}

func TestQualifiedClassLegacyExceptionsModule(t *testing.T) {
	f := &Failure{Class: "ValueError", Module: "exceptions"}
	if got := f.QualifiedClass(); got != "ValueError" {
		t.Errorf("QualifiedClass() = %q", got)
	}
	if got := (&Failure{Class: "E"}).QualifiedClass(); got != "E" {
		t.Errorf("no module: QualifiedClass() = %q", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Python's traceback prints a bare class for builtins and __main__, and no
// colon after an empty message.
func TestFailureErrorLikePythonTraceback(t *testing.T) {
	tests := []struct {
		f    *Failure
		want string
	}{
		{&Failure{Class: "RuntimeError", Module: "builtins"}, "RuntimeError"},
		{&Failure{Class: "LocalError", Module: "__main__", Message: "local"}, "LocalError: local"},
		{&Failure{Class: "WireError", Module: "wire_exc", Message: "custom failure"}, "wire_exc.WireError: custom failure"},
		{&Failure{Class: "WireError", Module: "wire_exc"}, "wire_exc.WireError"},
		{BuiltinError("RuntimeError", ""), "RuntimeError"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.f.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	if f := BuiltinError("RuntimeError", ""); f.Traceback[len(f.Traceback)-1] != "RuntimeError\n" {
		t.Errorf("traceback ends %q", f.Traceback[len(f.Traceback)-1])
	}
}

// TestBuiltinsModule: Python 2's "exceptions" and no module read as
// builtins, once, for the host, the Go client and the SDK.
func TestBuiltinsModule(t *testing.T) {
	for _, tt := range []struct {
		module, canonical string
		builtins          bool
	}{
		{"builtins", "builtins", true},
		{"exceptions", "builtins", true},
		{"", "", true},
		{"nova.exception", "nova.exception", false},
		{"__main__", "__main__", false},
	} {
		if got := IsBuiltins(tt.module); got != tt.builtins {
			t.Errorf("IsBuiltins(%q) = %v, want %v", tt.module, got, tt.builtins)
		}
		if got := CanonicalModule(tt.module); got != tt.canonical {
			t.Errorf("CanonicalModule(%q) = %q, want %q", tt.module, got, tt.canonical)
		}
	}
}
