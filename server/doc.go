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
package server
