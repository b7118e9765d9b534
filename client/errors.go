package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/transport"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrTimeout: no reply within the timeout or the call-monitor timeout
	// (oslo_messaging.MessagingTimeout).
	ErrTimeout = errors.New("messaging timeout")
	// ErrUndeliverable: an at-least-once message could not be routed to
	// any queue (oslo_messaging.MessageUndeliverable).
	ErrUndeliverable = errors.New("message undeliverable")
	// ErrInvalidTarget: the target cannot be used for this operation
	// (oslo_messaging.InvalidTarget), e.g. a call to a fanout target.
	ErrInvalidTarget = errors.New("invalid target")
	// ErrDeliveryFailure: the message could not be sent within the retry
	// budget (oslo_messaging.MessageDeliveryFailure).
	ErrDeliveryFailure = errors.New("message delivery failure")
	// ErrClosed: the transport was closed.
	ErrClosed = transport.ErrClosed
)

// RemoteError is an exception raised by the remote endpoint, as carried in
// the reply: its class and module (e.g. "ValueError"/"builtins",
// "InstanceNotFound"/"nova.exception"), message, traceback lines, and the
// constructor's args and kwargs.
type RemoteError struct {
	Class     string
	Module    string
	Message   string
	Traceback []string
	Args      json.RawMessage
	Kwargs    json.RawMessage
}

// Error reads like Python's RemoteError: "Remote error: Class message".
func (e *RemoteError) Error() string {
	return fmt.Sprintf("Remote error: %s %s", e.Class, e.Message)
}

// Is matches another *RemoteError of the same class and module, so that
// errors.Is(err, &client.RemoteError{Module: "builtins", Class: "ValueError"})
// works.
func (e *RemoteError) Is(target error) bool {
	t, ok := target.(*RemoteError)
	return ok && t.Class == e.Class && (t.Module == "" || t.Module == e.Module)
}

// TracebackText is the remote traceback as one string.
func (e *RemoteError) TracebackText() string { return strings.Join(e.Traceback, "") }

// Failure is e in the wire model, as the reply carried it (with the module
// as a Python 3 caller reads it). RemoteError does not unwrap to it: an
// endpoint returning a RemoteError it got sends builtins.RuntimeError, as
// before, unless it returns e.Failure().
func (e *RemoteError) Failure() *oslo.Failure {
	return &oslo.Failure{Class: e.Class, Module: e.Module, Message: e.Message, Traceback: e.Traceback, Args: e.Args, Kwargs: e.Kwargs}
}

func remoteError(f *oslo.Failure) *RemoteError {
	return &RemoteError{Class: f.Class, Module: oslo.CanonicalModule(f.Module), Message: f.Message, Traceback: f.Traceback, Args: f.Args, Kwargs: f.Kwargs}
}

// TimeoutError is a call that got no reply in time.
type TimeoutError struct {
	MsgID string
	// CallMonitor is set when the call-monitor timeout (no heartbeat)
	// expired rather than the overall timeout.
	CallMonitor bool
}

func (e *TimeoutError) Error() string {
	return "Timed out waiting for a reply to message ID " + e.MsgID
}

// Is reports ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// VersionCapError is a message version above the client's version cap
// (oslo_messaging.RPCVersionCapError).
type VersionCapError struct{ Version, Cap string }

func (e *VersionCapError) Error() string {
	return fmt.Sprintf("Requested message version, %s is incompatible.  It needs to be equal in major version and less than or equal in minor version as the specified version cap %s.", e.Version, e.Cap)
}
