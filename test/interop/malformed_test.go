package interop

import (
	"bytes"
	"compress/zlib"
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// rawPeer publishes hand-made bodies and reads replies on its own queue.
type rawPeer struct {
	ch      *amqp.Channel
	replyQ  string
	replies <-chan amqp.Delivery
}

func newRawPeer(t *testing.T) *rawPeer {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rawPeer{ch: ch, replyQ: q.Name, replies: d}
}

func (p *rawPeer) publish(t *testing.T, key string, msg amqp.Publishing) {
	t.Helper()
	if msg.ContentType == "" {
		msg.ContentType = "application/json"
	}
	if err := p.ch.PublishWithContext(context.Background(), "openstack", key, false, false, msg); err != nil {
		t.Fatal(err)
	}
}

// reply waits for the next reply (nil after wait without one).
func (p *rawPeer) reply(t *testing.T, wait time.Duration) *oslo.Reply {
	t.Helper()
	select {
	case d := <-p.replies:
		r, err := oslo.DecodeReply(d.Body)
		if err != nil {
			t.Fatalf("undecodable reply %s: %v", d.Body, err)
		}
		return r
	case <-time.After(wait):
		return nil
	}
}

func callBody(p *rawPeer, msgID string, fields string) []byte {
	return []byte(`{"_msg_id":"` + msgID + `","_reply_q":"` + p.replyQ + `"` + fields + `}`)
}

// TestMalformedRequests publishes bad messages straight to a Go server's
// queue: each is dropped (no requeue loop) and answered with a failure when
// it names a reply queue (except an unsupported envelope version, dropped
// silently as oslo does); the server keeps serving.
func TestMalformedRequests(t *testing.T) {
	topic := pypeer.UniqueName(t, "malformed")
	startGoServer(t, serverOpts{topic: topic, server: "m1", maxBody: 64 << 10})
	p := newRawPeer(t)
	var zbuf bytes.Buffer
	zw := zlib.NewWriter(&zbuf)
	zw.Write(oslo.Wrap(callBody(p, "gz", `,"method":"whoami","args":{}`)))
	zw.Close()

	tests := []struct {
		name      string
		msg       amqp.Publishing
		wantClass string // "" = no reply expected; "ok" = a result
	}{
		{"not JSON", amqp.Publishing{Body: []byte("this is not json")}, ""},
		{"JSON array", amqp.Publishing{Body: []byte(`[1,2,3]`)}, ""},
		{"NaN token", amqp.Publishing{Body: []byte(`{"method":"echo","args":{"value":NaN},"_msg_id":"x","_reply_q":"q"}`)}, ""},
		{"envelope without message is a bare call", amqp.Publishing{Body: callBody(p, "bare", `,"oslo.version":"2.0","method":"whoami"`)}, "ok"},
		// Dropped without a reply, as oslo does (UnsupportedRpcEnvelopeVersion
		// logged, the message rejected): TestUnsupportedEnvelopeDropped.
		{"unknown envelope version", amqp.Publishing{Body: []byte(`{"oslo.version":"3.0","oslo.message":` + jsonString(callBody(p, "v3", `,"method":"whoami"`)) + `}`)}, ""},
		{"oslo.message not a string", amqp.Publishing{Body: []byte(`{"oslo.version":"2.0","oslo.message":{"method":"whoami"}}`)}, ""},
		{"no method", amqp.Publishing{Body: oslo.Wrap(callBody(p, "nomethod", `,"args":{}`))}, "TypeError"},
		{"args of the wrong shape", amqp.Publishing{Body: oslo.Wrap(callBody(p, "argslist", `,"method":"echo","args":[1,2]`))}, "AttributeError"},
		{"method not a string", amqp.Publishing{Body: oslo.Wrap(callBody(p, "methodnum", `,"method":42`))}, "TypeError"},
		{"oversized body", amqp.Publishing{Body: oslo.Wrap(callBody(p, "big", `,"method":"echo","args":{"value":"`+strings.Repeat("z", 70<<10)+`"}`))}, "RequestTooLarge"},
		{"wrong content type", amqp.Publishing{ContentType: "text/plain", Body: oslo.Wrap(callBody(p, "ctype", `,"method":"whoami"`))}, "MalformedRequest"},
		{"unknown compression", amqp.Publishing{Headers: amqp.Table{"compression": "application/x-lzma"}, Body: []byte("xx")}, ""},
		{"zlib compressed call", amqp.Publishing{Headers: amqp.Table{"compression": oslo.CompressionGzip}, Body: zbuf.Bytes()}, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.publish(t, topic, tt.msg)
			wait := 5 * time.Second
			if tt.wantClass == "" {
				wait = 500 * time.Millisecond
			}
			r := p.reply(t, wait)
			switch {
			case tt.wantClass == "" && r != nil:
				t.Fatalf("unexpected reply %+v", r)
			case tt.wantClass == "":
			case r == nil:
				t.Fatalf("no reply, want %s", tt.wantClass)
			case tt.wantClass == "ok" && (r.Failure != nil || string(r.Result) != `"m1"`):
				t.Fatalf("reply %s %v, want the result", r.Result, r.Failure)
			case tt.wantClass != "ok" && (r.Failure == nil || r.Failure.Class != tt.wantClass):
				t.Fatalf("reply %s %+v, want failure %s", r.Result, r.Failure, tt.wantClass)
			}
			// The server still serves, and nothing was requeued.
			p.publish(t, topic, amqp.Publishing{Body: oslo.Wrap(callBody(p, "after", `,"method":"whoami"`))})
			if r := p.reply(t, 10*time.Second); r == nil || string(r.Result) != `"m1"` {
				t.Fatalf("server stopped serving after %s: %+v", tt.name, r)
			}
			q, err := p.ch.QueueDeclarePassive(topic, false, false, false, false, nil)
			if err != nil || q.Messages != 0 {
				t.Fatalf("queue %s holds %d messages after the bad input (err %v)", topic, q.Messages, err)
			}
		})
	}
}

func jsonString(b []byte) string {
	var buf []byte
	buf = append(buf, '"')
	for _, c := range b {
		if c == '"' || c == '\\' {
			buf = append(buf, '\\')
		}
		buf = append(buf, c)
	}
	return string(append(buf, '"'))
}

// TestDuplicateDropped: a request whose _unique_id the server handled
// recently is dropped without a reply, as oslo's duplicate check does
// (wire spec 3.5, A.13 A6).
func TestDuplicateDropped(t *testing.T) {
	topic := pypeer.UniqueName(t, "dup")
	startGoServer(t, serverOpts{topic: topic, server: "d1"})
	p := newRawPeer(t)
	uid := oslo.NewID()
	p.publish(t, topic, amqp.Publishing{Body: oslo.Wrap(callBody(p, "first", `,"method":"whoami","_unique_id":"`+uid+`"`))})
	if r := p.reply(t, 10*time.Second); r == nil || r.MsgID != "first" {
		t.Fatalf("first copy: %+v", r)
	}
	p.publish(t, topic, amqp.Publishing{Body: oslo.Wrap(callBody(p, "again", `,"method":"whoami","_unique_id":"`+uid+`"`))})
	p.publish(t, topic, amqp.Publishing{Body: oslo.Wrap(callBody(p, "other", `,"method":"whoami","_unique_id":"`+oslo.NewID()+`"`))})
	if r := p.reply(t, 10*time.Second); r == nil || r.MsgID != "other" {
		t.Fatalf("after the duplicate, want only the reply to the other request, got %+v", r)
	}
}
