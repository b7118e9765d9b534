package osloctx_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/plugin/sdk/osloctx"
)

// novaContext is nova.context.RequestContext(...).to_dict() as a call
// carries it (values shortened), plus client_timeout.
const novaContext = `{"user": "u1", "project_id": "p1", "system_scope": null, "project": "p1",
 "domain": null, "user_domain": "default", "project_domain": "default", "is_admin": false,
 "read_only": false, "show_deleted": false, "auth_token": "SECRET-TOKEN", "request_id": "req-1",
 "global_request_id": "req-g", "resource_uuid": null, "roles": ["member", "reader"],
 "user_identity": "u1 p1 - default default", "is_admin_project": true, "user_id": "u1",
 "read_deleted": "no", "remote_address": "10.0.0.1", "timestamp": "2026-12-02T15:00:00.000000",
 "quota_class": null, "user_name": "alice", "service_catalog": [], "project_name": "demo",
 "client_timeout": 60}`

func load(t *testing.T) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(novaContext), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFromMap(t *testing.T) {
	rc := osloctx.FromMap(load(t))
	want := osloctx.RequestContext{UserID: "u1", ProjectID: "p1", UserDomainID: "default", ProjectDomainID: "default",
		UserName: "alice", ProjectName: "demo", IsAdminProject: true, AuthToken: "SECRET-TOKEN",
		RequestID: "req-1", GlobalRequestID: "req-g", Roles: []string{"member", "reader"}}
	got := *rc
	got.Extra = nil
	if got.String() != want.String() || got.AuthToken != want.AuthToken || got.UserName != "alice" {
		t.Errorf("got %v; want %v", got, want)
	}
	for _, k := range []string{"read_deleted", "remote_address", "timestamp", "service_catalog", "client_timeout", "user_identity", "quota_class"} {
		if _, ok := rc.Extra[k]; !ok {
			t.Errorf("Extra lacks %q", k)
		}
	}
}

func TestMapRoundTrip(t *testing.T) {
	in := load(t)
	if got := osloctx.FromMap(in).Map(); !reflect.DeepEqual(got, in) {
		t.Errorf("unchanged context changed:\n got %v\nwant %v", got, in)
	}
	rc := osloctx.FromMap(in)
	rc.UserID = "u2"
	rc.IsAdmin = true
	rc.GlobalRequestID = ""
	out := rc.Map()
	if out["user"] != "u2" || out["user_id"] != "u2" || out["is_admin"] != true || out["global_request_id"] != nil {
		t.Errorf("changed fields not written under their keys: %v", out)
	}
	if out["remote_address"] != "10.0.0.1" || out["project"] != "p1" {
		t.Errorf("other keys not kept: %v", out)
	}
}

func TestNew(t *testing.T) {
	rc := osloctx.New()
	rc.RequestID = "req-2"
	m := rc.Map()
	if m["request_id"] != "req-2" || m["is_admin_project"] != true || m["user_id"] != nil {
		t.Errorf("new context map %v", m)
	}
	if _, ok := m["user"]; ok {
		t.Errorf("alias written for a new context: %v", m)
	}
}

func TestTokenRedacted(t *testing.T) {
	rc := osloctx.FromMap(load(t))
	var sb strings.Builder
	for _, jsonFormat := range []bool{false, true} {
		l := hclog.New(&hclog.LoggerOptions{Output: &sb, JSONFormat: jsonFormat})
		l.Info("call", "context", rc, "value", *rc)
	}
	b, _ := json.Marshal(rc)
	for _, s := range []string{sb.String(), fmt.Sprint(rc), fmt.Sprintf("%v %+v %#v", *rc, *rc, rc), string(b)} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("token leaked: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(rc), "auth_token=***") {
		t.Errorf("String = %s", rc)
	}
}
