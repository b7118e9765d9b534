package interop

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestUnsupportedEnvelopeDropped: a call in an envelope whose oslo.version
// is not compatible with 2.0 gets no reply from a Go server, exactly as
// from the Python servers (14.0.3 and 16.1.0 log
// UnsupportedRpcEnvelopeVersion and reject it); it is not requeued and the
// server keeps serving.
func TestUnsupportedEnvelopeDropped(t *testing.T) {
	type target struct {
		name, topic, server string
	}
	var targets []target
	goTopic := pypeer.UniqueName(t, "env-go")
	startGoServer(t, serverOpts{topic: goTopic, server: "go"})
	targets = append(targets, target{"oslohost", goTopic, "go"})
	for _, peer := range pypeer.Peers {
		pypeer.RequirePeer(t, peer)
		s := pypeer.StartServer(t, pypeer.ServerOptions{Topic: pypeer.UniqueName(t, "env-py"), Peer: peer})
		targets = append(targets, target{peer.String(), s.Options().Topic, s.Options().Server})
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			p := newRawPeer(t)
			for _, version := range []string{"2.1", "3.0", "9.9", "2.0.1"} {
				inner := callBody(p, "v"+version, `,"method":"whoami","args":{},"_unique_id":"`+oslo.NewID()+`"`)
				p.publish(t, tg.topic, amqp.Publishing{Body: []byte(`{"oslo.version":"` + version + `","oslo.message":` + jsonString(inner) + `}`)})
			}
			p.publish(t, tg.topic, amqp.Publishing{Body: oslo.Wrap(callBody(p, "valid", `,"method":"whoami","args":{},"_unique_id":"`+oslo.NewID()+`"`))})
			r := p.reply(t, 20*time.Second)
			if r == nil || r.MsgID != "valid" || string(r.Result) != `"`+tg.server+`"` {
				t.Fatalf("first reply %+v, want only the answer to the valid call", r)
			}
			if r := p.reply(t, time.Second); r != nil {
				t.Fatalf("unexpected reply %+v", r)
			}
			q, err := p.ch.QueueDeclarePassive(tg.topic, false, false, false, false, nil)
			if err != nil || q.Messages != 0 {
				t.Fatalf("queue %s holds %d messages (err %v): requeued", tg.topic, q.Messages, err)
			}
		})
	}
}
