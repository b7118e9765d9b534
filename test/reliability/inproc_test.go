package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/server"
)

func logger(t testing.TB) hclog.Logger {
	level := hclog.Error
	if os.Getenv("OSLOHOST_TEST_LOG") != "" {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: level, Output: os.Stderr})
}

// dialConn connects a rabbit.Conn (closed at cleanup); dial, when set,
// replaces the TCP dialer (a fault proxy, or to record the address).
func dialConn(t testing.TB, rawURL, name string, dial func(network, addr string) (net.Conn, error)) (*rabbit.Conn, *rabbit.URL) {
	t.Helper()
	u, err := rabbit.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: name, Logger: logger(t).Named("rabbit"), Dial: dial})
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, u
}

// testServer is an in-process oslo RPC server with a few endpoints:
// echo (returns its args), slow (sleeps "ms" milliseconds) and record
// (counts casts by their "id").
type testServer struct {
	*server.Server
	conn  *rabbit.Conn
	calls atomic.Int64
	mu    sync.Mutex
	casts map[string]int
}

// startServer starts a server for topic on rawURL; it shuts down at cleanup.
func startServer(t testing.TB, rawURL, topic string, dial func(string, string) (net.Conn, error)) *testServer {
	t.Helper()
	conn, u := dialConn(t, rawURL, "server-"+topic, dial)
	ts := &testServer{conn: conn, casts: map[string]int{}}
	srv, err := server.New(wrap.Conn(conn, u.Options, "", nil), server.Config{
		Target:     oslo.Target{Topic: topic, Server: topic + "-s1"},
		Dispatcher: server.NewDispatcher(ts.endpoint()),
		Logger:     logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ts.Server = srv
	return ts
}

func (ts *testServer) endpoint() server.Endpoint {
	return server.Endpoint{Methods: map[string]server.Handler{
		"echo": server.HandlerFunc(func(_ context.Context, c *server.Call) (json.RawMessage, error) {
			ts.calls.Add(1)
			return c.Args, nil
		}),
		"slow": server.HandlerFunc(func(ctx context.Context, c *server.Call) (json.RawMessage, error) {
			ts.calls.Add(1)
			var a struct {
				MS int `json:"ms"`
			}
			_ = json.Unmarshal(c.Args, &a)
			select {
			case <-time.After(time.Duration(a.MS) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return json.RawMessage(`"slept"`), nil
		}),
		"record": server.HandlerFunc(func(_ context.Context, c *server.Call) (json.RawMessage, error) {
			var a struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(c.Args, &a)
			ts.mu.Lock()
			ts.casts[a.ID]++
			ts.mu.Unlock()
			return nil, nil
		}),
	}}
}

// recorded reports how many distinct cast ids arrived and how many
// arrived more than once.
func (ts *testServer) recorded() (distinct, dup int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, n := range ts.casts {
		if n > 1 {
			dup++
		}
	}
	return len(ts.casts), dup
}

// dialClient dials a client transport (closed at cleanup).
func dialClient(t testing.TB, rawURL, name string) *client.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := client.Dial(ctx, client.Config{URL: rawURL, Name: name, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// outcome classifies a call's error for the tallies.
func outcome(err error) string {
	var re *client.RemoteError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, client.ErrTimeout):
		return "timeout"
	case errors.As(err, &re):
		return "remote:" + re.Class
	case errors.Is(err, client.ErrDeliveryFailure):
		return "delivery-failure"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	default:
		return "error:" + err.Error()
	}
}

// tally counts outcomes; safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *tally) add(k string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
}

func (t *tally) snapshot() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

func (t *tally) get(k string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[k]
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.m {
		n += v
	}
	return n
}
