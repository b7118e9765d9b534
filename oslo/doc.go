// Package oslo is the pure wire model of oslo.messaging's RabbitMQ driver:
// the 2.0 envelope, RPC requests, replies and failures, notifications,
// targets and oslo's version-compatibility rule.
//
// It does no I/O. Everything here turns bytes into values and values into
// bytes exactly as oslo.messaging 14.0.3 does (see the project's wire spec),
// so a Go peer built on it cannot be told from a Python one. All functions
// are safe for concurrent use.
//
// Failure is the one Go type of a Python exception on the wire; the
// others are views of it: client.RemoteError (Failure()), sdk.RemoteError
// (sdk.RemoteErrorOf) and the plugin protocol's pluginv1.Failure
// (pluginv1.FailureOf, Oslo()). IsBuiltins and CanonicalModule are the
// one place where Python 2's "exceptions" module is read as builtins.
// DefaultControlExchange and DefaultMaxMessageSize are the defaults the
// server, the listener, the client and the plugin channel share.
package oslo
