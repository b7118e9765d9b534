// Package host runs oslohost: it reads the configuration, starts the
// endpoint plugins (go-plugin subprocesses over gRPC), connects to
// RabbitMQ, and wires every server block to its topic, server and fanout
// consumers, its executor and the endpoints its plugins describe. Calls are
// dispatched with oslo's rules (package server) and forwarded to the plugin
// with the caller's deadline; replies, failures and call-monitor heartbeats
// go back on the caller's reply queue.
package host
