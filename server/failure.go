package server

import (
	"errors"

	"github.com/oslohost/oslohost/oslo"
)

// Module of the failures oslohost itself produces (not a Python module:
// Python callers see them as RemoteError with this class name).
const ModuleHost = "oslohost"

// asFailure turns a handler error into the failure sent to the caller: a
// *oslo.Failure anywhere in the chain is sent as is; anything else becomes
// builtins.RuntimeError with the error's text.
func asFailure(err error) *oslo.Failure {
	var f *oslo.Failure
	if errors.As(err, &f) {
		return f
	}
	return oslo.BuiltinError("RuntimeError", err.Error())
}

// isExpected reports errors marked as expected (not logged as failures),
// like oslo's @expected_exceptions.
func isExpected(err error) bool {
	var e interface{ Expected() bool }
	return errors.As(err, &e) && e.Expected()
}
