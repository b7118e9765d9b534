package interop

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/sdk/osloctx"
	"github.com/oslohost/oslohost/plugin/sdk/ovo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// Part and Widget are the objects of test/pypeer/py/ovo_server.py.
type Part struct {
	ovo.Base
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type Widget struct {
	ovo.Base
	ID        int        `json:"id"`
	Name      string     `json:"name"`
	Size      float64    `json:"size"`
	Color     *string    `json:"color" ovo:"since=1.1"`
	Parts     []*Part    `json:"parts"`
	CreatedAt *time.Time `json:"created_at"`
}

var widgetObjects = ovo.NewRegistry("versioned_object",
	ovo.Object[Part]("Part", "versionedobjects", "1.0"),
	ovo.Object[Widget]("Widget", "versionedobjects", "1.1"),
)

// TestGoClientVersionedObjects: the Go client sends typed objects to a
// Python server using VersionedObjectSerializer, which reads them as its
// own classes, and reads the objects it returns typed, changes and
// versions included; the typed request context goes along, unknown keys
// kept.
func TestGoClientVersionedObjects(t *testing.T) {
	srv := pypeer.StartOVOServer(t, pypeer.ServerOptions{})
	tr := dialClient(t, "")
	c := client.New(tr, oslo.Target{Topic: srv.Topic, Server: srv.Server, Version: "1.0"}, client.Timeout(20*time.Second))
	rc := osloctx.FromMap(map[string]any{"user": "u-go", "request_id": "req-go-1", "x_extra": "kept"})
	call := func(t *testing.T, method string, args map[string]any, out any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		prim, err := widgetObjects.Primitive(args, nil)
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := c.Call(ctx, rc.Map(), method, prim, &raw); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if err := widgetObjects.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: decode %s: %v", method, raw, err)
		}
	}
	red := "red"
	newWidget := func() *Widget {
		return &Widget{ID: 1, Name: "w", Size: 2.0, Color: &red, Parts: []*Part{{Name: "a", Count: 3}}}
	}

	t.Run("the server reads Go objects as its classes", func(t *testing.T) {
		var got struct {
			Widget struct {
				Class   string         `json:"class"`
				Version string         `json:"version"`
				Changes []string       `json:"changes"`
				Fields  map[string]any `json:"fields"`
			} `json:"widget"`
			SizeType string `json:"size_type"`
			User     string `json:"ctxt_user"`
			Request  string `json:"ctxt_request_id"`
			Extra    string `json:"ctxt_extra"`
		}
		call(t, "inspect", map[string]any{"widget": newWidget()}, &got)
		w := got.Widget
		if w.Class != "Widget" || w.Version != "1.1" || got.SizeType != "float" {
			t.Errorf("server read %s %s (size a %s); want Widget 1.1, size a float", w.Class, w.Version, got.SizeType)
		}
		if want := []string{"color", "id", "name", "parts", "size"}; !reflect.DeepEqual(w.Changes, want) {
			t.Errorf("changes %v; want %v (every field a new object has)", w.Changes, want)
		}
		if parts, _ := w.Fields["parts"].([]any); len(parts) != 1 || parts[0].(map[string]any)["class"] != "Part" {
			t.Errorf("parts %v", w.Fields["parts"])
		}
		if _, ok := w.Fields["created_at"]; ok {
			t.Errorf("unset created_at sent: %v", w.Fields)
		}
		if got.User != "u-go" || got.Request != "req-go-1" || got.Extra != "kept" {
			t.Errorf("context seen: user %q request %q extra %q", got.User, got.Request, got.Extra)
		}
	})
	t.Run("an object changed by the server comes back with its changes", func(t *testing.T) {
		var w Widget
		call(t, "grow", map[string]any{"widget": newWidget(), "by": 0.5}, &w)
		if w.Size != 2.5 || len(w.Parts) != 2 || w.Parts[1].Name != "added" || w.ObjVersion() != "1.1" {
			t.Fatalf("grow = %+v", w)
		}
		prim, err := widgetObjects.Primitive(&w, nil)
		if err != nil {
			t.Fatal(err)
		}
		ch := prim.(map[string]any)["versioned_object.changes"]
		if !reflect.DeepEqual(ch, []string{"color", "id", "name", "parts", "size"}) {
			t.Errorf("changes sent on = %v", ch)
		}
	})
	t.Run("a new object from the server", func(t *testing.T) {
		var w Widget
		call(t, "make_widget", map[string]any{"name": "made"}, &w)
		if w.ID != 7 || w.Name != "made" || w.Color == nil || *w.Color != "red" || len(w.Parts) != 1 || w.CreatedAt == nil {
			t.Errorf("make_widget = %+v", w)
		}
	})
	t.Run("an older object decodes and goes back at its version", func(t *testing.T) {
		var w Widget
		call(t, "old_widget", nil, &w)
		if w.ObjVersion() != "1.0" || w.Color != nil || w.Name != "old" {
			t.Fatalf("old_widget = %+v (version %s)", w, w.ObjVersion())
		}
		var got struct {
			Widget struct {
				Version string `json:"version"`
			} `json:"widget"`
		}
		w.Color = &red // a 1.0 reader has no color: dropped
		call(t, "inspect", map[string]any{"widget": &w}, &got)
		if got.Widget.Version != "1.0" {
			t.Errorf("sent back at %s; want 1.0", got.Widget.Version)
		}
	})
}
