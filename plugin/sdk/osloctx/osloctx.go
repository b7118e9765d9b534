// Package osloctx is oslo.context's RequestContext, typed: the request
// context an OpenStack service sends with every call and notification
// (user, project, domains, roles, request ids, the token…), read from the
// oslo context dict a plugin receives ([sdk.RequestContext]) or a Go
// client sends, and written back with every key it did not know kept.
//
//	rc := osloctx.From(ctx)
//	sdk.Logger(ctx).Info("reboot", "context", rc)   // auth_token redacted
//	if !rc.IsAdmin { return sdk.Expected(notAuthorized) }
//	h.Call(ctx, target, "m", args, &res, rc.CallOption())
//
// Outgoing calls made while serving a call forward its context unchanged
// on their own; CallOption sends a changed one.
package osloctx

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// RequestContext is an oslo.context RequestContext (and Nova's, Cinder's…
// subclasses: their further keys are in Extra). Empty strings stand for
// None. AuthToken is a secret: it is left out of String and of
// encoding/json (the struct has no json form of its own; [RequestContext.Map]
// is the wire form), so logging a RequestContext never leaks it.
//
// A RequestContext is a plain value: not safe for concurrent modification.
type RequestContext struct {
	UserID            string   `json:"user_id,omitempty"`
	ProjectID         string   `json:"project_id,omitempty"`
	SystemScope       string   `json:"system_scope,omitempty"`
	DomainID          string   `json:"domain,omitempty"`
	UserDomainID      string   `json:"user_domain,omitempty"`
	ProjectDomainID   string   `json:"project_domain,omitempty"`
	UserName          string   `json:"user_name,omitempty"`
	ProjectName       string   `json:"project_name,omitempty"`
	DomainName        string   `json:"domain_name,omitempty"`
	UserDomainName    string   `json:"user_domain_name,omitempty"`
	ProjectDomainName string   `json:"project_domain_name,omitempty"`
	IsAdmin           bool     `json:"is_admin"`
	IsAdminProject    bool     `json:"is_admin_project"`
	ReadOnly          bool     `json:"read_only"`
	ShowDeleted       bool     `json:"show_deleted"`
	AuthToken         string   `json:"-"`
	RequestID         string   `json:"request_id,omitempty"`
	GlobalRequestID   string   `json:"global_request_id,omitempty"`
	ResourceUUID      string   `json:"resource_uuid,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	// Extra holds every other key as it arrived (Nova's read_deleted,
	// remote_address, timestamp, service_catalog…, client_timeout); Map
	// sends them back.
	Extra map[string]any `json:"-"`

	raw  map[string]any  // as it arrived
	orig *RequestContext // the typed fields as they arrived
}

type stringField struct {
	keys []string // read in this order; the first is written for a new key
	ptr  func(*RequestContext) *string
}

// stringFields are the typed string keys, with oslo's aliases (from_dict
// reads "user", Nova sends "user_id" too; "tenant" is the old "project").
var stringFields = []stringField{
	{[]string{"user_id", "user"}, func(r *RequestContext) *string { return &r.UserID }},
	{[]string{"project_id", "project", "tenant"}, func(r *RequestContext) *string { return &r.ProjectID }},
	{[]string{"system_scope"}, func(r *RequestContext) *string { return &r.SystemScope }},
	{[]string{"domain", "domain_id"}, func(r *RequestContext) *string { return &r.DomainID }},
	{[]string{"user_domain", "user_domain_id"}, func(r *RequestContext) *string { return &r.UserDomainID }},
	{[]string{"project_domain", "project_domain_id"}, func(r *RequestContext) *string { return &r.ProjectDomainID }},
	{[]string{"user_name"}, func(r *RequestContext) *string { return &r.UserName }},
	{[]string{"project_name"}, func(r *RequestContext) *string { return &r.ProjectName }},
	{[]string{"domain_name"}, func(r *RequestContext) *string { return &r.DomainName }},
	{[]string{"user_domain_name"}, func(r *RequestContext) *string { return &r.UserDomainName }},
	{[]string{"project_domain_name"}, func(r *RequestContext) *string { return &r.ProjectDomainName }},
	{[]string{"auth_token"}, func(r *RequestContext) *string { return &r.AuthToken }},
	{[]string{"request_id"}, func(r *RequestContext) *string { return &r.RequestID }},
	{[]string{"global_request_id"}, func(r *RequestContext) *string { return &r.GlobalRequestID }},
	{[]string{"resource_uuid"}, func(r *RequestContext) *string { return &r.ResourceUUID }},
}

type boolField struct {
	key string
	def bool
	ptr func(*RequestContext) *bool
}

var boolFields = []boolField{
	{key: "is_admin", ptr: func(r *RequestContext) *bool { return &r.IsAdmin }},
	{key: "is_admin_project", def: true, ptr: func(r *RequestContext) *bool { return &r.IsAdminProject }},
	{key: "read_only", ptr: func(r *RequestContext) *bool { return &r.ReadOnly }},
	{key: "show_deleted", ptr: func(r *RequestContext) *bool { return &r.ShowDeleted }},
}

const rolesKey = "roles"

// typedKeys are the keys the typed fields read.
var typedKeys = func() map[string]bool {
	m := map[string]bool{rolesKey: true}
	for _, f := range stringFields {
		for _, k := range f.keys {
			m[k] = true
		}
	}
	for _, f := range boolFields {
		m[f.key] = true
	}
	return m
}()

// New returns an empty context: a request context made here, as
// RequestContext() in Python (is_admin_project true).
func New() *RequestContext { return FromMap(nil) }

// FromMap reads an oslo context dict (to_dict's keys, as a request carries
// them). Values of an unexpected type are left in the raw dict only. m is
// not modified or retained.
func FromMap(m map[string]any) *RequestContext {
	rc := &RequestContext{raw: maps.Clone(m), Extra: map[string]any{}}
	for k, v := range m {
		if !typedKeys[k] {
			rc.Extra[k] = v
		}
	}
	for _, f := range stringFields {
		for _, k := range f.keys {
			if s, ok := m[k].(string); ok {
				*f.ptr(rc) = s
				break
			}
		}
	}
	for _, f := range boolFields {
		b, ok := m[f.key].(bool)
		if !ok {
			b = f.def
		}
		*f.ptr(rc) = b
	}
	if roles, ok := m[rolesKey].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok {
				rc.Roles = append(rc.Roles, s)
			}
		}
	} else if roles, ok := m[rolesKey].([]string); ok {
		rc.Roles = slices.Clone(roles)
	}
	orig := *rc
	orig.Roles = slices.Clone(rc.Roles)
	rc.orig = &orig
	return rc
}

// From returns the request context of the call served under ctx; nil
// outside a call.
func From(ctx context.Context) *RequestContext {
	m := sdk.RequestContext(ctx)
	if m == nil {
		return nil
	}
	return FromMap(m)
}

// Map returns the context as an oslo context dict, to send: the keys that
// arrived (Extra's and the typed ones', aliases included) as they arrived,
// except the typed fields the plugin changed, which are written under every
// key of theirs that arrived (or their main one). An empty string is None.
func (rc *RequestContext) Map() map[string]any {
	out := maps.Clone(rc.Extra)
	if out == nil {
		out = map[string]any{}
	}
	orig := rc.orig
	if orig == nil {
		orig = &RequestContext{}
	}
	for _, f := range stringFields {
		now, was := *f.ptr(rc), *f.ptr(orig)
		var v any
		if now != "" {
			v = now
		}
		rc.write(out, f.keys, now == was, v)
	}
	for _, f := range boolFields {
		rc.write(out, []string{f.key}, rc.orig != nil && *f.ptr(rc) == *f.ptr(orig), *f.ptr(rc))
	}
	var roles any = []any{}
	if rc.Roles != nil {
		roles = slices.Clone(rc.Roles)
	}
	rc.write(out, []string{rolesKey}, rc.orig != nil && slices.Equal(rc.Roles, orig.Roles), roles)
	return out
}

// write puts a typed field into out: unchanged, the keys that arrived keep
// their values; changed (or new), v goes under each key that arrived, or
// under the first key.
func (rc *RequestContext) write(out map[string]any, keys []string, unchanged bool, v any) {
	wrote := false
	for _, k := range keys {
		old, ok := rc.raw[k]
		if !ok {
			continue
		}
		if unchanged {
			out[k] = old
		} else {
			out[k] = v
		}
		wrote = true
	}
	if !wrote && (!unchanged || rc.raw == nil) {
		out[keys[0]] = v
	}
}

// CallOption sends the context with an outgoing call or cast through the
// host ([sdk.WithRequestContext]).
func (rc *RequestContext) CallOption() sdk.CallOption { return sdk.WithRequestContext(rc.Map()) }

// String describes the context as oslo logs it, the token redacted.
func (rc RequestContext) String() string {
	token := ""
	if rc.AuthToken != "" {
		token = " auth_token=***"
	}
	return fmt.Sprintf("user=%s project=%s domain=%s user_domain=%s project_domain=%s request_id=%s global_request_id=%s roles=%v is_admin=%v%s",
		dash(rc.UserID), dash(rc.ProjectID), dash(rc.DomainID), dash(rc.UserDomainID), dash(rc.ProjectDomainID),
		dash(rc.RequestID), dash(rc.GlobalRequestID), rc.Roles, rc.IsAdmin, token)
}

// GoString is String, so %#v does not print the token either.
func (rc RequestContext) GoString() string { return "osloctx.RequestContext{" + rc.String() + "}" }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
