package oslo

import (
	"encoding/json"
	"fmt"
)

// Module names of the exceptions oslo.messaging itself raises remotely.
const (
	ModuleBuiltins   = "builtins"
	ModuleDispatcher = "oslo_messaging.rpc.dispatcher"
)

// Failure is an exception as oslo serializes it into a reply's "failure"
// (serialize_remote_exception): class and module name, str() of the
// exception, the formatted traceback, and the constructor's args and kwargs.
// A Python caller rebuilds the exception from class and module when the
// module is builtins or in its allowed_remote_exmods.
//
// *Failure implements error. It is a value type: do not modify one shared
// between goroutines.
type Failure struct {
	Class     string          `json:"class"`
	Module    string          `json:"module"`
	Message   string          `json:"message"`
	Traceback []string        `json:"tb"`
	Args      json.RawMessage `json:"args"`
	Kwargs    json.RawMessage `json:"kwargs"`
}

// Error returns "module.Class: message" ("Class: message" for builtins),
// just "module.Class" when the message is empty: the last line of Python's
// traceback.
func (f *Failure) Error() string {
	if f.Message == "" {
		return f.QualifiedClass()
	}
	return f.QualifiedClass() + ": " + f.Message
}

// QualifiedClass is the class name as Python prints it in a traceback's last
// line: bare for builtins (and __main__), "module.Class" otherwise.
func (f *Failure) QualifiedClass() string {
	if IsBuiltins(f.Module) || f.Module == "__main__" {
		return f.Class
	}
	return f.Module + "." + f.Class
}

// moduleExceptions is Python 2's name of the builtins module, which old
// peers still send.
const moduleExceptions = "exceptions"

// IsBuiltins reports whether module names Python's builtins: "builtins",
// Python 2's "exceptions", or "" (no module given).
func IsBuiltins(module string) bool {
	return module == "" || module == ModuleBuiltins || module == moduleExceptions
}

// CanonicalModule is module as a Python 3 caller reads it: Python 2's
// "exceptions" is "builtins"; any other module is itself.
func CanonicalModule(module string) string {
	if module == moduleExceptions {
		return ModuleBuiltins
	}
	return module
}

// NewFailure builds a failure of the given module and class whose args are
// [message] and whose traceback is a short one naming where it was raised,
// ending in "<qualified class>: <message>\n" (Error()) as Python's does.
func NewFailure(module, class, message string) *Failure {
	f := &Failure{Class: class, Module: module, Message: message}
	f.Args, _ = json.Marshal([]string{message})
	f.Kwargs = json.RawMessage("{}")
	f.Traceback = []string{
		"Traceback (most recent call last):\n",
		"  File \"oslohost\", in dispatch\n",
		f.Error() + "\n",
	}
	return f
}

// BuiltinError is a failure of a Python builtin exception class
// (ValueError, TypeError, KeyError, RuntimeError, …), which every Python
// caller rebuilds as that exception.
func BuiltinError(class, message string) *Failure {
	return NewFailure(ModuleBuiltins, class, message)
}

// NoSuchMethod is the failure a Python server sends when a compatible
// endpoint lacks the method or refuses it (private names).
func NoSuchMethod(method string) *Failure {
	return NewFailure(ModuleDispatcher, "NoSuchMethod", "Endpoint does not support RPC method "+method)
}

// UnsupportedVersion is the failure a Python server sends when no endpoint
// matches the request's namespace and version.
func UnsupportedVersion(version, method string) *Failure {
	msg := "Endpoint does not support RPC version " + version
	if method != "" {
		msg += ". Attempted method: " + method
	}
	return NewFailure(ModuleDispatcher, "UnsupportedVersion", msg)
}

// MarshalFailure returns the failure's JSON text, the string embedded in a
// reply. Missing tb/args/kwargs are written as [], [] and {}.
func MarshalFailure(f *Failure) ([]byte, error) {
	g := *f
	if g.Traceback == nil {
		g.Traceback = []string{}
	}
	if len(g.Args) == 0 {
		g.Args = json.RawMessage("[]")
	}
	if len(g.Kwargs) == 0 {
		g.Kwargs = json.RawMessage("{}")
	}
	return json.Marshal(&g)
}

// UnmarshalFailure parses a failure's JSON text as a Python client does:
// class, module and message are needed; tb, args and kwargs default to [],
// [] and {}.
func UnmarshalFailure(data []byte) (*Failure, error) {
	var f Failure
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: failure: %v", ErrMalformed, err)
	}
	if f.Class == "" {
		return nil, fmt.Errorf("%w: failure has no class", ErrMalformed)
	}
	if f.Traceback == nil {
		f.Traceback = []string{}
	}
	if len(f.Args) == 0 || string(f.Args) == "null" {
		f.Args = json.RawMessage("[]")
	}
	if len(f.Kwargs) == 0 || string(f.Kwargs) == "null" {
		f.Kwargs = json.RawMessage("{}")
	}
	return &f, nil
}
