package ovo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
)

// Backporter asks someone who knows newer versions (oslo: the conductor's
// object_backport_versions) to turn the primitive prim of an object into
// one at the versions of manifest; it returns the backported primitive.
type Backporter func(ctx context.Context, prim map[string]any, manifest Manifest) (map[string]any, error)

// Unmarshal decodes data, JSON holding object primitives anywhere (an
// object, a list of them, a dict of arguments), into v with encoding/json,
// the primitives of declared objects becoming their structs. An object
// newer than its declaration fails with IncompatibleObjectVersion (an
// *sdk.RemoteError of oslo_versionedobjects.exception). Numbers in untyped
// places become json.Number. Safe for concurrent use.
func (r *Registry) Unmarshal(data []byte, v any) error {
	raw, err := r.decode(context.Background(), data, nil)
	if err != nil {
		return err
	}
	return decodeJSON(raw, v)
}

func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// decode rewrites the primitives of declared objects in data into the form
// their structs decode from: the object's fields at the top level, and what
// Base keeps under "$ovo". Primitives of undeclared objects stay as they are.
func (r *Registry) decode(ctx context.Context, data []byte, bp Backporter) (json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || !bytes.ContainsAny(data, "{") {
		return data, nil
	}
	var v any
	if err := decodeJSON(data, &v); err != nil {
		return nil, err
	}
	d := decoder{r: r, ctx: ctx, bp: bp}
	out, err := d.value(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

type decoder struct {
	r   *Registry
	ctx context.Context
	bp  Backporter
}

func (d *decoder) value(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			ev, err := d.value(e)
			if err != nil {
				return nil, err
			}
			v[i] = ev
		}
		return v, nil
	case map[string]any:
		if d.isPrimitive(v) {
			return d.object(v)
		}
		for k, e := range v {
			ev, err := d.value(e)
			if err != nil {
				return nil, err
			}
			v[k] = ev
		}
		return v, nil
	}
	return v, nil
}

func (d *decoder) key(k string) string { return d.r.serial + "." + k }

func (d *decoder) isPrimitive(m map[string]any) bool {
	_, hasName := m[d.key("name")].(string)
	_, hasData := m[d.key("data")].(map[string]any)
	return hasName && hasData
}

// object hoists one primitive of a declared object; others are returned
// untouched.
func (d *decoder) object(prim map[string]any) (any, error) {
	name, _ := prim[d.key("name")].(string)
	ns, _ := prim[d.key("namespace")].(string)
	c := d.r.lookup(ns, name)
	if c == nil {
		return prim, nil
	}
	ver, _ := prim[d.key("version")].(string)
	if !compatible(ver, c.Version) {
		var err error
		if prim, err = d.backport(prim, c, ver); err != nil {
			return nil, err
		}
		ver, _ = prim[d.key("version")].(string)
	}
	pv, _ := ParseVersion(ver)
	data, _ := prim[d.key("data")].(map[string]any)
	out := make(map[string]any, len(data)+1)
	meta := &Meta{Name: c.Name, Namespace: c.Namespace, Version: pv.String()}
	for k, e := range data {
		if !c.declares(k) {
			raw, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			if meta.Unknown == nil {
				meta.Unknown = map[string]json.RawMessage{}
			}
			meta.Unknown[k] = raw
			continue
		}
		ev, err := d.value(e)
		if err != nil {
			return nil, err
		}
		out[k] = ev
	}
	if ch, ok := prim[d.key("changes")].([]any); ok {
		for _, e := range ch {
			if s, ok := e.(string); ok {
				meta.Changes = append(meta.Changes, s)
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	meta.Data = b
	out[metaKey] = meta
	return out, nil
}

// compatible reports whether an object at version ver can be read as one
// at version known: same major, minor no newer (the patch level ignored,
// as oslo's serializer does).
func compatible(ver, known string) bool {
	v, err := ParseVersion(ver)
	if err != nil {
		return false
	}
	k := mustVersion(known)
	return v.Major == k.Major && !k.Less(v)
}

func (d *decoder) backport(prim map[string]any, c *Class, ver string) (map[string]any, error) {
	if d.bp == nil {
		return nil, IncompatibleObjectVersion(c.Name, ver, c.Version)
	}
	out, err := d.bp(d.ctx, prim, d.r.Manifest())
	if err != nil {
		return nil, fmt.Errorf("backport %s %s to %s: %w", c.Name, ver, c.Version, err)
	}
	got, _ := out[d.key("version")].(string)
	if n, _ := out[d.key("name")].(string); n != c.Name || !compatible(got, c.Version) {
		return nil, IncompatibleObjectVersion(c.Name, got, c.Version)
	}
	return out, nil
}

// knownKeys returns the keys of the fields an object arrived with.
func (m *Meta) knownKeys() map[string]bool {
	if m == nil || len(m.Data) == 0 {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(m.Data, &raw); err != nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range maps.Keys(raw) {
		keys[k] = true
	}
	return keys
}
