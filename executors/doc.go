// Package executors runs dispatched messages: Blocking handles one message
// at a time in arrival order; Pool handles up to a fixed number at once.
// Both implement Executor, whose Capacity sets the consumer prefetch so that
// one host does not hoard messages from a shared queue.
package executors
