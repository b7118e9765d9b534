package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/server"
	"github.com/oslohost/oslohost/test/pypeer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// castRecord is what the Go "record" endpoint saw.
type castRecord struct {
	Server string
	Args   map[string]any
	Ctxt   map[string]any
}

// goServer is a Go oslo RPC server with the same endpoints as the Python
// peer (test/pypeer/py/oslo_server.py), so both directions run the same
// scenarios.
type goServer struct {
	*server.Server
	conn  *rabbit.Conn
	name  string
	casts chan castRecord
}

func logger(t testing.TB) hclog.Logger {
	level := hclog.Warn
	if os.Getenv("OSLOHOST_TEST_LOG") != "" {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: level, Output: os.Stderr})
}

// dial connects to the test broker; the connection closes at cleanup.
func dial(t testing.TB, rawURL, name string) (*rabbit.Conn, *rabbit.URL) {
	t.Helper()
	u, err := rabbit.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: name, Logger: logger(t).Named("rabbit")})
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, u
}

type serverOpts struct {
	url      string
	exchange string
	topic    string
	server   string
	executor executors.Executor
	maxBody  int
}

// startGoServer starts a Go server with the fixture endpoints.
func startGoServer(t testing.TB, o serverOpts) *goServer {
	t.Helper()
	if o.url == "" {
		o.url = pypeer.URL()
	}
	conn, u := dial(t, o.url, "server-"+o.server)
	gs := &goServer{conn: conn, name: o.server, casts: make(chan castRecord, 1000)}
	srv, err := server.New(wrap.Conn(conn, u.Options, "", nil), server.Config{
		Exchange:    o.exchange,
		Target:      oslo.Target{Topic: o.topic, Server: o.server},
		Dispatcher:  server.NewDispatcher(gs.endpoints()...),
		Executor:    o.executor,
		MaxBodySize: o.maxBody,
		Logger:      logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	gs.Server = srv
	return gs
}

func fn(f func(ctx context.Context, c *server.Call) (any, error)) server.Handler {
	return server.HandlerFunc(func(ctx context.Context, c *server.Call) (json.RawMessage, error) {
		v, err := f(ctx, c)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
}

func decodeArgs(c *server.Call) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(c.Args, &m)
	return m
}

func decodeCtx(c *server.Call) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(c.Context)
	_ = json.Unmarshal(b, &m)
	return m
}

// wireError is the custom exception of the Python peer's wire_exc module.
func wireError(msg string, code any) *oslo.Failure {
	f := oslo.NewFailure("wire_exc", "WireError", msg)
	f.Kwargs, _ = json.Marshal(map[string]any{"code": code})
	return f
}

func (gs *goServer) endpoints() []server.Endpoint {
	def := server.Endpoint{Methods: map[string]server.Handler{
		"echo": fn(func(_ context.Context, c *server.Call) (any, error) {
			args := decodeArgs(c)
			value := args["value"]
			delete(args, "value")
			return map[string]any{"value": value, "kwargs": args, "ctxt_seen": decodeCtx(c), "server": gs.name}, nil
		}),
		"record": fn(func(_ context.Context, c *server.Call) (any, error) {
			gs.casts <- castRecord{Server: gs.name, Args: decodeArgs(c), Ctxt: decodeCtx(c)}
			return nil, nil
		}),
		"none_result": fn(func(context.Context, *server.Call) (any, error) { return nil, nil }),
		"fail_value": fn(func(_ context.Context, c *server.Call) (any, error) {
			msg, _ := decodeArgs(c)["msg"].(string)
			if msg == "" {
				msg = "bad value"
			}
			return nil, oslo.BuiltinError("ValueError", msg)
		}),
		"fail_custom": fn(func(_ context.Context, c *server.Call) (any, error) {
			a := decodeArgs(c)
			msg, _ := a["msg"].(string)
			code, ok := a["code"]
			if !ok {
				code = 7
			}
			return nil, wireError(msg, code)
		}),
		"fail_plain": fn(func(context.Context, *server.Call) (any, error) {
			return nil, fmt.Errorf("a plain Go error")
		}),
		"slow": fn(func(ctx context.Context, c *server.Call) (any, error) {
			secs, _ := decodeArgs(c)["seconds"].(float64)
			select {
			case <-time.After(time.Duration(secs * float64(time.Second))):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return fmt.Sprintf("slept %v", secs), nil
		}),
		"_private": fn(func(context.Context, *server.Call) (any, error) { return "private!", nil }),
		"whoami":   fn(func(context.Context, *server.Call) (any, error) { return gs.name, nil }),
	}}
	ns1 := server.Endpoint{Namespace: "ns1", Version: "1.3", Methods: map[string]server.Handler{
		"vmeth": fn(func(context.Context, *server.Call) (any, error) { return "ns1 endpoint, version 1.3", nil }),
	}}
	v75 := server.Endpoint{Version: "7.5", Methods: map[string]server.Handler{
		"v75": fn(func(context.Context, *server.Call) (any, error) { return "7.5", nil }),
	}}
	return []server.Endpoint{def, ns1, v75}
}

// nextCast waits (bounded) for a cast recorded by any of the servers.
func nextCast(t testing.TB, ch <-chan castRecord) castRecord {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no cast arrived within 15s")
		return castRecord{}
	}
}

func bg(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
