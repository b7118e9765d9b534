package listener

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// filterCase is one NotificationFilter check: the filter's expressions,
// the notification, and whether oslo's filter.py lets it through.
type filterCase struct {
	name    string
	spec    FilterSpec
	ctxt    map[string]any
	pub     string
	event   string
	payload any
	want    bool
	// pyRaises: Python's filter raises here (the dispatcher then treats
	// the message as failed, i.e. requeue); we call it no match.
	pyRaises bool
}

var filterCases = []filterCase{
	{name: "empty filter", want: true, event: "a", pub: "p", payload: 1},
	{name: "event match at start", spec: FilterSpec{EventType: `compute\.instance\.`}, event: "compute.instance.create.end", want: true},
	{name: "event match not at start", spec: FilterSpec{EventType: `instance`}, event: "compute.instance.create.end", want: false},
	{name: "event not anchored at end", spec: FilterSpec{EventType: `comp`}, event: "compute", want: true},
	{name: "event anchored with $", spec: FilterSpec{EventType: `comp$`}, event: "compute", want: false},
	{name: "alternation, later branch at start", spec: FilterSpec{EventType: `x|comp`}, event: "compute", want: true},
	{name: "publisher", spec: FilterSpec{PublisherID: `^compute`}, pub: "compute.host1", event: "e", want: true},
	{name: "publisher mismatch", spec: FilterSpec{PublisherID: `^compute`}, pub: "network.compute", event: "e", want: false},
	{name: "context match", spec: FilterSpec{Context: map[string]string{"user_id": "^alice$"}}, ctxt: map[string]any{"user_id": "alice"}, event: "e", want: true},
	{name: "context key missing", spec: FilterSpec{Context: map[string]string{"user_id": "alice"}}, ctxt: map[string]any{"project_id": "alice"}, event: "e", want: false},
	{name: "context value not a string", spec: FilterSpec{Context: map[string]string{"roles": "admin"}}, ctxt: map[string]any{"roles": []any{"admin"}}, event: "e", want: false},
	{name: "context client_timeout is null", spec: FilterSpec{Context: map[string]string{"client_timeout": ".*"}}, event: "e", want: false},
	{name: "payload match", spec: FilterSpec{Payload: map[string]string{"state": "^active$"}}, payload: map[string]any{"state": "active"}, event: "e", want: true},
	{name: "payload number", spec: FilterSpec{Payload: map[string]string{"n": "1"}}, payload: map[string]any{"n": 1}, event: "e", want: false},
	{name: "payload key missing", spec: FilterSpec{Payload: map[string]string{"state": "a"}}, payload: map[string]any{}, event: "e", want: false},
	{name: "payload null", spec: FilterSpec{Payload: map[string]string{"state": "a"}}, payload: nil, event: "e", want: false, pyRaises: true},
	{name: "payload a string holding the key", spec: FilterSpec{Payload: map[string]string{"state": "a"}}, payload: "the state", event: "e", want: false, pyRaises: true},
	{name: "payload a list", spec: FilterSpec{Payload: map[string]string{"state": "a"}}, payload: []any{"x"}, event: "e", want: false},
	{name: "metadata message_id", spec: FilterSpec{Metadata: map[string]string{"message_id": "^6a5e"}}, event: "e", want: true},
	{name: "metadata timestamp", spec: FilterSpec{Metadata: map[string]string{"timestamp": "^2026-11"}}, event: "e", want: true},
	{name: "metadata unknown key", spec: FilterSpec{Metadata: map[string]string{"other": ".*"}}, event: "e", want: false},
	{name: "all given must match", spec: FilterSpec{EventType: "^e", PublisherID: "^p", Payload: map[string]string{"k": "v"}},
		pub: "p1", event: "e1", payload: map[string]any{"k": "w"}, want: false},
	{name: "all given match", spec: FilterSpec{EventType: "^e", PublisherID: "^p", Payload: map[string]string{"k": "v"}},
		pub: "p1", event: "e1", payload: map[string]any{"k": "v"}, want: true},
	{name: "unicode", spec: FilterSpec{EventType: "^é"}, event: "é.x", want: true},
}

const (
	filterMessageID = "6a5ead33-bdda-48fa-ba29-e2c90a547c3d"
	filterTimestamp = "2026-11-24 18:36:59.858398"
)

func (c filterCase) message(t testing.TB) *Message {
	t.Helper()
	ctx, err := oslo.ContextFrom(c.ctxt)
	if err != nil {
		t.Fatal(err)
	}
	n := oslo.Notification{Context: ctx}
	payload, _ := json.Marshal(c.payload)
	return &Message{PublisherID: c.pub, EventType: c.event, Payload: payload, Context: n.EndpointContext(),
		Metadata: Metadata{MessageID: filterMessageID, Timestamp: filterTimestamp}}
}

func TestFilterMatch(t *testing.T) {
	for _, c := range filterCases {
		t.Run(c.name, func(t *testing.T) {
			f, err := c.spec.Compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(c.message(t)); got != c.want {
				t.Errorf("Match = %v, want %v", got, c.want)
			}
		})
	}
	var nilFilter *Filter
	if !nilFilter.Match(&Message{}) {
		t.Error("nil filter refused a message")
	}
}

// TestFilterMatchesPython runs oslo's own NotificationFilter on the same
// cases.
func TestFilterMatchesPython(t *testing.T) {
	py := pypeer.Python(t)
	type pyCase struct {
		Context     map[string]string `json:"context"`
		PublisherID *string           `json:"publisher_id"`
		EventType   *string           `json:"event_type"`
		Metadata    map[string]string `json:"metadata"`
		Payload     map[string]string `json:"payload"`
		Ctxt        map[string]any    `json:"ctxt"`
		Pub         string            `json:"pub"`
		Event       string            `json:"event"`
		Data        any               `json:"data"`
	}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	var in []pyCase
	for _, c := range filterCases {
		ctxt := map[string]any{"client_timeout": nil}
		for k, v := range c.ctxt {
			ctxt[k] = v
		}
		in = append(in, pyCase{Context: c.spec.Context, PublisherID: str(c.spec.PublisherID), EventType: str(c.spec.EventType),
			Metadata: c.spec.Metadata, Payload: c.spec.Payload, Ctxt: ctxt, Pub: c.pub, Event: c.event, Data: c.payload})
	}
	input, _ := json.Marshal(in)
	script := `
import json, sys
from oslo_messaging.notify.filter import NotificationFilter
out = []
for c in json.load(sys.stdin):
    f = NotificationFilter(context=c["context"], publisher_id=c["publisher_id"], event_type=c["event_type"],
                           metadata=c["metadata"], payload=c["payload"])
    md = {"message_id": "` + filterMessageID + `", "timestamp": "` + filterTimestamp + `"}
    try:
        out.append(f.match(c["ctxt"], c["pub"], c["event"], md, c["data"]))
    except Exception as e:
        out.append(repr(e))
json.dump(out, sys.stdout)
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var got []any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	for i, c := range filterCases {
		if msg, ok := got[i].(string); ok {
			if !c.pyRaises {
				t.Errorf("%s: Python raised %s", c.name, msg)
			}
			continue
		}
		if c.pyRaises {
			t.Errorf("%s: Python did not raise but returned %v", c.name, got[i])
		}
		if got[i] != c.want {
			t.Errorf("%s: Python says %v, the case says %v", c.name, got[i], c.want)
		}
	}
}

func TestFilterSpecCompileErrors(t *testing.T) {
	for _, s := range []FilterSpec{
		{EventType: "("},
		{PublisherID: "["},
		{Context: map[string]string{"k": "(?P<"}},
		{Metadata: map[string]string{"k": "*"}},
		{Payload: map[string]string{"k": "a{2,1}"}},
	} {
		if _, err := s.Compile(); err == nil {
			t.Errorf("%+v compiled", s)
		}
	}
}
