package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/oslo"
)

// benchServer is a Server that dispatches without a broker: casts only
// (no reply is published), so the numbers are those of the dispatch path.
func benchServer() *Server {
	h := HandlerFunc(func(ctx context.Context, call *Call) (json.RawMessage, error) {
		return json.RawMessage(`{"ok":true}`), nil
	})
	d := NewDispatcher(Endpoint{Methods: map[string]Handler{"echo": h}})
	return &Server{cfg: Config{Dispatcher: d}, log: hclog.NewNullLogger()}
}

// benchRequest is a cast as a nova-style caller with osprofiler sends it.
func benchRequest(b *testing.B) *oslo.Request {
	c, err := oslo.ContextFrom(map[string]any{
		"user_id": "u-alice", "project_id": "p-demo", "request_id": "req-1", "roles": []string{"member"},
		"trace_info": map[string]any{"hmac_key": "SECRET_KEY", "base_id": "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d",
			"parent_id": "aa0c8f5e-63f1-4c7b-8f40-0123456789ab"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return &oslo.Request{Method: "echo", Args: json.RawMessage(`{"value":1}`), Context: c}
}

// BenchmarkDispatch is one cast through Server.dispatch: lookup, handler,
// observer-less bookkeeping (tracing off unless a benchmark turns it on).
func BenchmarkDispatch(b *testing.B) {
	s, req, ctx := benchServer(), benchRequest(b), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.dispatch(ctx, req, time.Time{}, "")
	}
}
