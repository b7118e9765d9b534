package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

	"github.com/oslohost/oslohost/oslo"
)

// ModuleBuiltins is the Python module of the built-in exceptions.
const ModuleBuiltins = oslo.ModuleBuiltins

// RemoteError is an exception as a Python caller sees it: a method returning
// one (or an error wrapping one) makes the caller raise Module.Class. Python
// callers rebuild builtin classes always and other classes only when Module is
// in their allowed_remote_exmods and Class accepts Args and Kwargs; otherwise
// they raise oslo_messaging.RemoteError naming Class.
//
// Args nil means [Message]; Kwargs nil means {}. Traceback nil means one built
// by the SDK (where the error was created, when made by a constructor of this
// package, and the method that returned it). A RemoteError must not be
// modified once returned; reading it is safe for concurrent use.
type RemoteError struct {
	Module    string         // e.g. "builtins", "nova.exception"
	Class     string         // e.g. "ValueError", "InstanceNotFound"
	Message   string         // str(exception)
	Args      []any          // positional args of the exception
	Kwargs    map[string]any // keyword args (oslo/nova style exceptions)
	Traceback []string       // Python-style traceback lines, each ending in "\n"

	pcs []uintptr // where a constructor of this package was called
}

// Error returns "<qualified class>: <message>", as the last line of a Python traceback.
func (e *RemoteError) Error() string {
	return e.QualifiedClass() + ": " + e.Message
}

// QualifiedClass returns Class, prefixed by "Module." unless Module is builtins.
func (e *RemoteError) QualifiedClass() string {
	if oslo.IsBuiltins(e.Module) {
		return e.Class
	}
	return e.Module + "." + e.Class
}

// RemoteErrorOf is the RemoteError of a failure in the wire model (as the
// host relays the failure of a call a plugin made): its traceback is kept
// as it came, even empty, and its args and kwargs are decoded from JSON
// when present.
func RemoteErrorOf(f *oslo.Failure) *RemoteError {
	re := &RemoteError{Module: f.Module, Class: f.Class, Message: f.Message, Traceback: f.Traceback}
	if re.Traceback == nil {
		re.Traceback = []string{}
	}
	if len(f.Args) > 0 {
		_ = json.Unmarshal(f.Args, &re.Args)
	}
	if len(f.Kwargs) > 0 {
		_ = json.Unmarshal(f.Kwargs, &re.Kwargs)
	}
	return re
}

// NewRemoteError returns a RemoteError of any module and class whose message
// is fmt.Sprintf(format, a...), with args [message]; set Args and Kwargs on the
// result to match the Python class's constructor. Its traceback starts where
// NewRemoteError was called.
func NewRemoteError(module, class, format string, a ...any) *RemoteError {
	return newError(module, class, fmt.Sprintf(format, a...))
}

// ValueError returns a builtins.ValueError with the formatted message.
func ValueError(format string, a ...any) *RemoteError {
	return newError(ModuleBuiltins, "ValueError", fmt.Sprintf(format, a...))
}

// TypeError returns a builtins.TypeError with the formatted message.
func TypeError(format string, a ...any) *RemoteError {
	return newError(ModuleBuiltins, "TypeError", fmt.Sprintf(format, a...))
}

// RuntimeError returns a builtins.RuntimeError with the formatted message.
func RuntimeError(format string, a ...any) *RemoteError {
	return newError(ModuleBuiltins, "RuntimeError", fmt.Sprintf(format, a...))
}

// KeyError returns a builtins.KeyError for the formatted key. As in Python,
// the message is the key's repr (KeyError('x') reads 'x') and the args are
// [key].
func KeyError(format string, a ...any) *RemoteError {
	key := fmt.Sprintf(format, a...)
	e := newError(ModuleBuiltins, "KeyError", pyRepr(key))
	e.Args = []any{key}
	return e
}

func newError(module, class, msg string) *RemoteError {
	pcs := make([]uintptr, maxFrames+8)
	n := runtime.Callers(3, pcs) // skip Callers, newError, the constructor
	return &RemoteError{Module: module, Class: class, Message: msg, pcs: pcs[:n]}
}

// Expected marks err as expected: the Python caller still gets the error, but
// the host does not log it as a failure (oslo's expected_exceptions). The
// result wraps err, so errors.As and errors.Is see through it. Expected(nil)
// is nil.
func Expected(err error) error {
	if err == nil {
		return nil
	}
	return &expectedError{err: err}
}

// IsExpected reports whether err, or an error it wraps, was marked by [Expected].
func IsExpected(err error) bool {
	var e *expectedError
	return errors.As(err, &e)
}

type expectedError struct{ err error }

func (e *expectedError) Error() string { return e.err.Error() }
func (e *expectedError) Unwrap() error { return e.err }

// pyRepr returns Python's repr of a str.
func pyRepr(s string) string {
	quote := byte('\'')
	if containsByte(s, '\'') && !containsByte(s, '"') {
		quote = '"'
	}
	b := []byte{quote}
	for _, r := range s {
		switch {
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == rune(quote):
			b = append(b, '\\', quote)
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x7f:
			b = fmt.Appendf(b, `\x%02x`, r)
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, quote))
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
