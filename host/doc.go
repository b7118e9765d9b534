// Package host runs oslohost: it reads the configuration, connects to
// RabbitMQ, and wires every server block to its topic, server and fanout
// consumers, its executor and the endpoints its plugins describe, and every
// listener block to its queues and its plugins' notification handlers.
// Calls are dispatched with oslo's rules (package server) and forwarded to
// the plugin with the caller's deadline; replies, failures and call-monitor
// heartbeats go back on the caller's reply queue.
//
// The plugin processes themselves (go-plugin subprocesses over gRPC) are
// host/internal/supervisor's: generations, hot swaps, drains, probation and
// rollback, restarts after a crash. The host hands the supervisor a Config
// (the Host service plugins call back through, the drain and probation
// settings of the host block, the metrics observer, a callback that
// rebuilds the servers' endpoints when a plugin's generation changes) and keeps the
// wiring, the all-or-nothing Reload (built on the supervisor's
// Prepare/Commit), Validate, the admin API and its status and metrics.
package host
