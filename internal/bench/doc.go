// Package bench is the load generator behind `oslohost bench`. It drives a
// [Caller] (one RPC call per invocation) in one of two modes and reports
// throughput and latency percentiles:
//
//   - closed loop: Concurrency callers, each calling back-to-back;
//   - open loop: a fixed schedule of Rate calls per second, dispatched by a
//     pool of goroutines that grows as needed up to MaxInFlight. Latency is
//     measured from each call's scheduled send time, so time spent waiting
//     for a free slot behind a slow server counts (no coordinated omission).
//
// A run has a warm-up (calls made but not measured) and then either a
// Duration or a Count. Percentiles are exact: every measured latency is kept
// (8 bytes per call) and sorted at the end.
//
// The runner knows nothing about brokers: tests drive it with an in-process
// Caller and a fake [Clock].
package bench
