package sdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/oslohost/oslohost/internal/pyjson"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// failureFromError turns a method's error into the failure the caller sees:
// a *RemoteError (possibly wrapped) keeps its module, class and message;
// context.DeadlineExceeded is builtins.TimeoutError; anything else is
// builtins.RuntimeError with err.Error() as message.
func failureFromError(err error, methodPC uintptr) *pluginv1.Failure {
	var re *RemoteError
	if !errors.As(err, &re) {
		class := "RuntimeError"
		if errors.Is(err, context.DeadlineExceeded) {
			class = "TimeoutError"
		}
		re = &RemoteError{Module: ModuleBuiltins, Class: class, Message: err.Error()}
	}
	f := failureFromRemote(re, methodPC)
	f.Expected = IsExpected(err)
	return f
}

func failureFromRemote(re *RemoteError, methodPC uintptr) *pluginv1.Failure {
	module := re.Module
	if module == "" {
		module = ModuleBuiltins
	}
	tb := re.Traceback
	if tb == nil {
		tb = traceback(re.pcs, methodPC, re.QualifiedClass(), re.Message)
	}
	args := re.Args
	if args == nil {
		args = []any{re.Message}
	}
	argsJSON, err := pyjson.Marshal(args)
	if err != nil {
		argsJSON, _ = pyjson.Marshal([]any{re.Message})
	}
	kwargs := re.Kwargs
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	kwargsJSON, err := pyjson.Marshal(kwargs)
	if err != nil {
		kwargsJSON = []byte("{}")
	}
	return pluginv1.FailureOf(&oslo.Failure{
		Class: re.Class, Module: module, Message: re.Message,
		Traceback: tb, Args: argsJSON, Kwargs: kwargsJSON,
	})
}

// failureFromPanic turns a recovered panic into builtins.RuntimeError
// "plugin panic: <value>" with the traceback of the panicking goroutine.
func failureFromPanic(v any, pcs []uintptr, methodPC uintptr) *pluginv1.Failure {
	msg := fmt.Sprintf("plugin panic: %v", v)
	re := &RemoteError{Module: ModuleBuiltins, Class: "RuntimeError", Message: msg, pcs: pcs}
	return failureFromRemote(re, methodPC)
}

// dispatcherFailure is oslo's NoSuchMethod or UnsupportedVersion failure
// (oslo.NoSuchMethod, oslo.UnsupportedVersion), without a traceback as
// Python's dispatcher sends them.
func dispatcherFailure(f *oslo.Failure) *pluginv1.Failure {
	re := &RemoteError{Module: f.Module, Class: f.Class, Message: f.Message, Traceback: []string{}}
	pf := failureFromRemote(re, 0)
	pf.Traceback = nil
	return pf
}
