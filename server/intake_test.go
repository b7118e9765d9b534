package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/intake"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// replies records what a Server publishes.
type replies struct {
	mu  sync.Mutex
	got []rabbit.Message
}

func (r *replies) publish(_ context.Context, m rabbit.Message) error {
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

// memServer is a Server on an in-memory Source whose replies are recorded.
func memServer(t *testing.T) (*Server, *intake.Memory, *replies) {
	t.Helper()
	echo := HandlerFunc(func(_ context.Context, c *Call) (json.RawMessage, error) { return c.Args, nil })
	cfg := Config{
		Target:      oslo.Target{Topic: "mem", Server: "s1"},
		Exchange:    "x",
		Dispatcher:  NewDispatcher(Endpoint{Methods: map[string]Handler{"echo": echo}}),
		Executor:    executors.NewBlocking(),
		MaxBodySize: 1024,
		Logger:      hclog.NewNullLogger(),
	}
	src, rep := intake.NewMemory(), &replies{}
	s, err := newServer(cfg, rabbit.Options{}, src, rep.publish)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return s, src, rep
}

// TestRefusedRequestsAnswered: what the intake refuses gets the server's
// answer: a failure reply to a call whose reply address can be read, none
// to a cast, to an unreadable body or to an unsupported envelope; a good
// call and a duplicate of it are answered once.
func TestRefusedRequestsAnswered(t *testing.T) {
	call := func(uid string) *oslo.Request {
		return &oslo.Request{Method: "echo", Args: []byte(`{"a":1}`), MsgID: "msg-" + uid, ReplyQ: "reply_" + uid, UniqueID: uid}
	}
	big := call("big")
	big.Args = []byte(`{"pad":"` + strings.Repeat("x", 2000) + `"}`)
	bigCast := *big
	bigCast.MsgID, bigCast.ReplyQ = "", ""
	jsonPub := func(b []byte) amqp.Publishing { return amqp.Publishing{ContentType: "application/json", Body: b} }
	tests := []struct {
		name  string
		pubs  []amqp.Publishing
		class string // of the failure replied; "" for a result
		reply string // the reply queue answered; "" for none
	}{
		{"good call", []amqp.Publishing{jsonPub(call("ok").Encode())}, "", "reply_ok"},
		{"duplicate answered once", []amqp.Publishing{jsonPub(call("dup").Encode()), jsonPub(call("dup").Encode())}, "", "reply_dup"},
		{"too large call", []amqp.Publishing{jsonPub(big.Encode())}, "RequestTooLarge", "reply_big"},
		{"too large cast", []amqp.Publishing{jsonPub(bigCast.Encode())}, "", ""},
		{"wrong content type", []amqp.Publishing{{ContentType: "text/plain", Body: call("ct").Encode()}}, "MalformedRequest", "reply_ct"},
		{"bad compression", []amqp.Publishing{{ContentType: "application/json",
			Headers: amqp.Table{"compression": "application/x-lzma"}, Body: call("lz").Encode()}}, "", ""},
		{"not JSON", []amqp.Publishing{jsonPub([]byte("{nope"))}, "", ""},
		{"unsupported envelope", []amqp.Publishing{jsonPub([]byte(`{"oslo.version":"3.0","oslo.message":"{\"method\":\"echo\",\"_msg_id\":\"m\",\"_reply_q\":\"reply_env\"}"}`))}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, src, rep := memServer(t)
			for _, p := range tt.pubs {
				src.Publish("mem", p)
			}
			// A cast after the case: once it ran, the case was dealt with.
			src.Publish("mem", jsonPub((&oslo.Request{Method: "echo", UniqueID: "after"}).Encode()))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := src.WaitSettled(ctx, len(tt.pubs)+1); err != nil {
				t.Fatal(err)
			}
			if err := s.Shutdown(ctx); err != nil { // replies sent before it returns
				t.Fatal(err)
			}
			rep.mu.Lock()
			defer rep.mu.Unlock()
			if tt.reply == "" {
				if len(rep.got) != 0 {
					t.Fatalf("replied to %s", rep.got[0].Key)
				}
				return
			}
			if len(rep.got) != 1 || rep.got[0].Key != tt.reply {
				t.Fatalf("replies %v, want one to %s", rep.got, tt.reply)
			}
			r, err := oslo.DecodeReply(rep.got[0].Body)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.class == "" && r.Failure != nil:
				t.Errorf("failure %v, want a result", r.Failure)
			case tt.class != "" && (r.Failure == nil || r.Failure.Class != tt.class || r.Failure.Module != ModuleHost):
				t.Errorf("reply %+v, want failure %s.%s", r, ModuleHost, tt.class)
			case tt.class == "" && string(r.Result) != `{"a":1}`:
				t.Errorf("result %s", r.Result)
			}
			if tt.class == "RequestTooLarge" && (r.Failure == nil || !strings.HasPrefix(r.Failure.Message, "request too large: body of ")) {
				t.Errorf("failure message %+v", r.Failure)
			}
		})
	}
}
