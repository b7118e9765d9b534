// Package server serves oslo.messaging RPC endpoints over RabbitMQ exactly
// as a Python oslo.messaging server does: it declares and consumes the
// topic, topic.server and fanout queues, acks requests as they are
// dispatched, drops duplicates, matches namespace, version and method with
// oslo's rules, sends call-monitor heartbeats while a call runs, and replies
// (results, or failures that keep the exception's class and module) on the
// caller's reply queue.
//
// The Dispatcher is separate from the Server so that the host can route to
// plugins with the same rules.
package server
