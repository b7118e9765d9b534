// Package client calls and casts to any oslo.messaging RPC server (Python
// or oslohost) over RabbitMQ, the way oslo_messaging.RPCClient does.
//
// A Transport (package transport's, which this package's Transport, Config
// and Dial name again) is a broker connection, shared by every client,
// notifier, server and listener made on it; the clients on it share one
// reply queue. A Client is a Target plus call options, and Prepare derives
// a Client with some of them changed:
//
//	t, err := client.Dial(ctx, client.Config{URL: "rabbit://guest:guest@127.0.0.1:5672/"})
//	c := client.New(t, oslo.Target{Topic: "calc"}, client.Timeout(10*time.Second))
//	var sum int
//	err = c.Prepare(client.Version("1.1")).Call(ctx, nil, "add", map[string]int{"a": 1, "b": 2}, &sum)
//
// Arguments, request contexts and notification payloads are marshalled
// as encoding/json would (struct tags, json.Marshaler…) but with numbers as
// a Python caller writes them: a float64 1.0 goes as 1.0 (Python reads a
// float), an integer type as an int with every digit, a *big.Int or a
// json.Number verbatim; HTML characters are not escaped.
//
// Failures come back as *RemoteError (class, module, message and traceback
// of the remote exception), timeouts as *TimeoutError (errors.Is
// ErrTimeout), unroutable at-least-once messages as ErrUndeliverable.
//
// A Notifier sends notifications as oslo_messaging.Notifier does:
//
//	n, err := client.NewNotifier(t, "compute.host1", client.Topics("notifications"))
//	err = n.Info(ctx, reqCtx, "compute.instance.create.end", payload)
//
// Unlike Python, which logs and drops a notification it cannot send, the
// Notifier returns the error.
//
// Tracing: a call, cast or notification made with a context carrying an
// OpenTelemetry span gets a span of its own (from the global tracer
// provider) and carries it on the wire as a W3C traceparent header and as
// osprofiler's trace_info in the request context, so that a Python service
// with osprofiler continues the trace (see [ProfilerHMACKey]). Without a
// span in the context nothing changes and nothing is allocated.
package client
