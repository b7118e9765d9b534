// Package transport is the broker connection of oslo.messaging programs,
// as oslo_messaging.get_transport gives it: dial once from a transport URL
// and share the Transport between every RPC client and notifier (package
// client), RPC server (package server) and notification listener (package
// listener) of the program:
//
//	t, err := transport.Dial(ctx, transport.Config{URL: "rabbit://guest:guest@127.0.0.1:5672/"})
//	defer t.Close()
//	c := client.New(t, oslo.Target{Topic: "calc"})
//	srv, err := server.New(t, server.Config{Target: oslo.Target{Topic: "calc"}, Dispatcher: d})
//	l, err := listener.New(t, listener.Config{Targets: []listener.Target{{Topic: "notifications"}}, Handler: h})
//
// The URL's query carries the [oslo_messaging_rabbit] options (quorum
// queues, heartbeats, TLS, prefetch, ...), checked by Dial. A Transport
// reconnects by itself, failing over between the URL's hosts.
//
// It is its own package, not part of client, because servers and
// listeners stand on it as much as clients do, and neither should depend
// on the calling side.
package transport
