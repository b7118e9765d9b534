// Package server serves oslo.messaging RPC endpoints over RabbitMQ exactly
// as a Python oslo.messaging server does: it declares and consumes the
// topic, topic.server and fanout queues, acks requests as they are
// dispatched, drops duplicates, matches namespace, version and method with
// oslo's rules, sends call-monitor heartbeats while a call runs, and replies
// (results, or failures that keep the exception's class and module) on the
// caller's reply queue.
//
// A Go program serves endpoints in-process, without the host, on a shared
// transport.Transport (see the Example):
//
//	t, err := transport.Dial(ctx, transport.Config{URL: "rabbit://guest:guest@127.0.0.1:5672/"})
//	d := server.NewDispatcher(server.Endpoint{Version: "1.1", Methods: map[string]server.Handler{"add": add}})
//	srv, err := server.New(t, server.Config{Target: oslo.Target{Topic: "calc"}, Dispatcher: d})
//	err = srv.Start(ctx)
//	defer srv.Shutdown(ctx)
//
// The Dispatcher is separate from the Server so that the host can route to
// plugins with the same rules.
//
// Consuming is internal/intake's, with its AckOnReceipt policy: it checks
// the size limit (Config.MaxBodySize), decompression and content type,
// decodes, drops duplicates (Config.Duplicates), and acks each request as
// an executor worker starts it, then records its _unique_id; only then does
// the Server dispatch it. The Server answers what the intake refuses: a
// call whose reply address can be read gets an oslohost RequestTooLarge or
// MalformedRequest failure; a cast, an unreadable body or an unsupported
// envelope version gets none (as oslo).
package server
