package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
)

// tagSerializer marks what passes each of its four hooks.
type tagSerializer struct{ failArgs bool }

func (tagSerializer) SerializeEntity(_ context.Context, v any) (any, error) {
	return map[string]any{"serialized": v}, nil
}

func (s tagSerializer) DeserializeEntity(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
	if s.failArgs {
		return nil, sdk.NewRemoteError("oslo_versionedobjects.exception", "IncompatibleObjectVersion", "too new")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return raw, err
	}
	m["deserialized"] = true
	return json.Marshal(m)
}

func (tagSerializer) SerializeContext(_ context.Context, c map[string]any) (map[string]any, error) {
	c["ctx_serialized"] = true
	return c, nil
}

func (tagSerializer) DeserializeContext(_ context.Context, c map[string]any) (map[string]any, error) {
	c["ctx_deserialized"] = true
	return c, nil
}

type serialized struct{ notes chan sdk.Notification }

func (serialized) Relay(ctx context.Context, args map[string]any) (any, error) {
	h, err := sdk.Host(ctx)
	if err != nil {
		return nil, err
	}
	var res, raw map[string]any
	if err := h.Call(ctx, sdk.Target{Topic: "t"}, "echo", map[string]any{"a": 1}, &res); err != nil {
		return nil, err
	}
	if err := h.Call(ctx, sdk.Target{Topic: "t"}, "echo", map[string]any{"a": 2}, &raw, sdk.WithSerializer(sdk.NoOpSerializer{})); err != nil {
		return nil, err
	}
	if err := h.Notify(ctx, sdk.OutgoingNotification{EventType: "e", Payload: map[string]any{"p": 1}}); err != nil {
		return nil, err
	}
	return map[string]any{"args": args, "ctxt": sdk.RequestContext(ctx), "res": res, "raw": raw}, nil
}

func (s serialized) Info(_ context.Context, n sdk.Notification) error {
	s.notes <- n
	return nil
}

func TestSerializerHooks(t *testing.T) {
	host := &fakeHost{}
	impl := serialized{notes: make(chan sdk.Notification, 1)}
	h := sdktest.NewPlugin(t, sdk.StaticAll(
		sdk.Endpoint{Impl: impl, Serializer: tagSerializer{}},
		sdk.Notifications{Name: "n", Impl: impl, Serializer: tagSerializer{}},
	), sdktest.WithHost(host))

	var got struct {
		Serialized struct {
			Args map[string]any `json:"args"`
			Ctxt map[string]any `json:"ctxt"`
			Res  map[string]any `json:"res"`
			Raw  map[string]any `json:"raw"`
		} `json:"serialized"`
	}
	if err := h.Call(context.Background(), "relay", map[string]any{"x": 1}, &got, sdktest.Context(map[string]any{"user": "u"})); err != nil {
		t.Fatal(err)
	}
	s := got.Serialized
	if s.Args["deserialized"] != true || s.Args["x"] != 1.0 {
		t.Errorf("method args %v; want them deserialized", s.Args)
	}
	if s.Ctxt["ctx_deserialized"] != true || s.Ctxt["user"] != "u" {
		t.Errorf("method context %v; want it deserialized", s.Ctxt)
	}
	if s.Res["deserialized"] != true || s.Raw["deserialized"] != nil {
		t.Errorf("outgoing results %v, %v; want the first deserialized, the NoOp one not", s.Res, s.Raw)
	}
	host.mu.Lock()
	first, second := host.calls[0], host.calls[1]
	host.mu.Unlock()
	if string(first.GetArgsJson()) != `{"serialized":{"a":1}}` || string(second.GetArgsJson()) != `{"a":2}` {
		t.Errorf("outgoing args %s, %s", first.GetArgsJson(), second.GetArgsJson())
	}
	host.mu.Lock()
	note := host.notifs[0]
	host.mu.Unlock()
	if string(note.GetPayloadJson()) != `{"serialized":{"p":1}}` || !strings.Contains(string(note.GetContextJson()), `"ctx_serialized":true`) {
		t.Errorf("outgoing notification payload %s, context %s; want both serialized", note.GetPayloadJson(), note.GetContextJson())
	}
	var ctxt map[string]any
	_ = json.Unmarshal(first.GetContextJson(), &ctxt)
	if ctxt["ctx_serialized"] != true || ctxt["ctx_deserialized"] != true || ctxt["user"] != "u" {
		t.Errorf("outgoing context %v; want the served one, serialized", ctxt)
	}

	if _, err := h.Notify(context.Background(), "n", sdk.Notification{Priority: "info", EventType: "e",
		Payload: json.RawMessage(`{"p": 1}`), Context: map[string]any{"user": "u"}}); err != nil {
		t.Fatal(err)
	}
	n := <-impl.notes
	var p map[string]any
	if err := n.DecodePayload(&p); err != nil || p["deserialized"] != true || n.Context["ctx_deserialized"] != true {
		t.Errorf("notification payload %v, context %v; want both deserialized (%v)", p, n.Context, err)
	}
}

func TestSerializerErrorFailsTheCall(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: serialized{}, Serializer: tagSerializer{failArgs: true}})
	err := h.Call(context.Background(), "relay", map[string]any{"x": 1}, nil)
	var re *sdk.RemoteError
	if !errors.As(err, &re) || re.Class != "IncompatibleObjectVersion" || re.Module != "oslo_versionedobjects.exception" {
		t.Fatalf("err = %v; want the serializer's IncompatibleObjectVersion", err)
	}
}

type panicSerializer struct{ sdk.NoOpSerializer }

func (panicSerializer) DeserializeEntity(context.Context, json.RawMessage) (json.RawMessage, error) {
	panic("serializer bug")
}

func TestSerializerPanicFailsTheCallOnly(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: serialized{}, Serializer: panicSerializer{}})
	for range 2 { // the plugin keeps serving
		err := h.Call(context.Background(), "relay", map[string]any{"x": 1}, nil)
		var re *sdk.RemoteError
		if !errors.As(err, &re) || re.Class != "RuntimeError" || re.Message != "plugin panic: serializer bug" {
			t.Fatalf("err = %v; want RuntimeError plugin panic", err)
		}
	}
}
