// Package oslo is the pure wire model of oslo.messaging's RabbitMQ driver:
// the 2.0 envelope, RPC requests, replies and failures, notifications,
// targets and oslo's version-compatibility rule.
//
// It does no I/O. Everything here turns bytes into values and values into
// bytes exactly as oslo.messaging 14.0.3 does (see the project's wire spec),
// so a Go peer built on it cannot be told from a Python one. All functions
// are safe for concurrent use.
package oslo
