package ovo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// Compatibler is implemented by an object struct whose older versions
// differ by more than added fields: ObjMakeCompatible adjusts data, the
// primitive's fields (values are json.RawMessage or nested primitives), for
// a reader of target, after the fields newer than target were dropped.
// oslo's obj_make_compatible.
type Compatibler interface {
	ObjMakeCompatible(data map[string]any, target Version) error
}

// Marshal encodes v (an object, a pointer to one, a slice or map of them,
// or a struct or map holding them) with encoding/json, each declared object
// as its primitive at its version, or older where manifest says so, its
// changes listed. Safe for concurrent use.
func (r *Registry) Marshal(v any, manifest Manifest) (json.RawMessage, error) {
	p, err := r.Primitive(v, manifest)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// Primitive returns v with every declared object in it replaced by its
// primitive (a map), for encoding/json; values holding no objects are
// returned as they are. manifest (nil for none) caps the version of the
// objects it names. Safe for concurrent use.
func (r *Registry) Primitive(v any, manifest Manifest) (any, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if !r.holdsObjects(rv.Type()) {
		return v, nil
	}
	e := encoder{r: r, manifest: manifest}
	return e.value(rv)
}

type encoder struct {
	r        *Registry
	manifest Manifest
}

// value encodes rv: objects become primitives, containers of objects are
// walked, anything else is left to encoding/json.
func (e *encoder) value(rv reflect.Value) (any, error) {
	if !rv.IsValid() {
		return nil, nil
	}
	t := rv.Type()
	if c := e.r.byType[t]; c != nil {
		return e.object(c, rv)
	}
	if t.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, nil
		}
		return e.value(rv.Elem())
	}
	if !e.r.holdsObjects(t) || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return rv.Interface(), nil // encoding/json's (or the type's own) business
	}
	switch t.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return e.value(rv.Elem())
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			v, err := e.value(rv.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		if m, ok := rv.Interface().(map[string]any); ok && m[metaKey] != nil {
			return e.rawObject(m)
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			v, err := e.value(it.Value())
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(it.Key().Interface())] = v
		}
		return out, nil
	case reflect.Struct:
		return e.plainStruct(rv)
	}
	return rv.Interface(), nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// plainStruct encodes an undeclared struct holding objects (arguments of
// an outgoing call, a result) as encoding/json would, by its exported
// fields' json names (omitempty honoured, untagged embedded structs'
// fields promoted).
func (e *encoder) plainStruct(rv reflect.Value) (any, error) {
	out := map[string]any{}
	return out, e.structFields(rv, out)
}

func (e *encoder) structFields(rv reflect.Value, out map[string]any) error {
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if _, tagged := sf.Tag.Lookup("json"); sf.Anonymous && !tagged && sf.Type.Kind() == reflect.Struct {
			if err := e.structFields(rv.Field(i), out); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		name, omitEmpty, skip := jsonName(sf)
		if skip || omitEmpty && rv.Field(i).IsZero() {
			continue
		}
		v, err := e.value(rv.Field(i))
		if err != nil {
			return err
		}
		out[name] = v
	}
	return nil
}

// object encodes one declared object as its primitive.
func (e *encoder) object(c *Class, rv reflect.Value) (any, error) {
	meta := rv.Field(c.base).Interface().(Base).Meta
	known := meta.knownKeys()
	baseline, err := c.baseline(meta)
	if err != nil {
		return nil, err
	}
	arrived := meta != nil && meta.Data != nil
	data := map[string]any{}
	var changes []string
	for _, f := range c.fields {
		fv := rv.Field(f.index)
		if !known[f.name] && !meta.isSet(f.name) && fv.IsZero() {
			continue
		}
		v, err := e.value(fv)
		if err != nil {
			return nil, fmt.Errorf("object %s: field %s: %w", c.Name, f.name, err)
		}
		data[f.name] = v
		changed := !arrived || meta.isSet(f.name) || meta.arrivedChanged(f.name) || !known[f.name] ||
			!sameJSON(baseline[f.name], fv) || e.hasChanges(v)
		if changed {
			changes = append(changes, f.name)
		}
	}
	target := oldest(c.Version, meta.version(), e.manifest[c.Name])
	if meta != nil && target == meta.Version {
		// Fields the Go type does not know go back as they came, unless the
		// object goes back older than it came: they may be newer.
		for k, raw := range meta.Unknown {
			data[k] = raw
			if meta.arrivedChanged(k) {
				changes = append(changes, k)
			}
		}
	}
	if target != c.Version {
		tv := mustVersion(target)
		for _, f := range c.fields {
			if !f.since.IsZero() && tv.Less(f.since) {
				delete(data, f.name)
			}
		}
		if mc, ok := compatibler(rv); ok {
			if err := mc.ObjMakeCompatible(data, tv); err != nil {
				return nil, fmt.Errorf("object %s: make compatible with %s: %w", c.Name, target, err)
			}
		}
	}
	s := e.r.serial
	prim := map[string]any{
		s + ".name": c.Name, s + ".namespace": c.Namespace, s + ".version": target, s + ".data": data,
	}
	changes = slices.DeleteFunc(changes, func(f string) bool { _, ok := data[f]; return !ok })
	if len(changes) > 0 {
		slices.Sort(changes)
		prim[s+".changes"] = changes
	}
	return prim, nil
}

// rawObject encodes an object decoded into an untyped place (a field or
// argument of type any or map[string]any) back into its primitive: as it
// arrived, with what the plugin changed in the map.
func (e *encoder) rawObject(m map[string]any) (any, error) {
	var meta Meta
	b, err := json.Marshal(m[metaKey])
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil {
		return nil, fmt.Errorf("object in an untyped place: %w", err)
	}
	data := map[string]any{}
	for k, v := range m {
		if k == metaKey {
			continue
		}
		ev, err := e.value(reflect.ValueOf(v))
		if err != nil {
			return nil, err
		}
		data[k] = ev
	}
	for k, raw := range meta.Unknown {
		data[k] = raw
	}
	s := e.r.serial
	prim := map[string]any{s + ".name": meta.Name, s + ".namespace": meta.Namespace, s + ".version": meta.Version, s + ".data": data}
	if len(meta.Changes) > 0 {
		prim[s+".changes"] = meta.Changes
	}
	return prim, nil
}

// ResetChanges forgets the changes of obj, a pointer to a declared object,
// as obj_reset_changes() does in Python: the fields it has now are those it
// is sent with, and what the plugin changes afterwards are its changes.
// Nested objects keep their own changes (obj_reset_changes(recursive=False));
// reset them too for the recursive form. Not safe for concurrent use with
// other uses of obj.
func (r *Registry) ResetChanges(obj any) error {
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("ovo: ResetChanges of %T: want a pointer to an object", obj)
	}
	c := r.byType[rv.Elem().Type()]
	if c == nil {
		return fmt.Errorf("ovo: ResetChanges: %T is not a declared object", obj)
	}
	el := rv.Elem()
	b := el.Field(c.base).Addr().Interface().(*Base)
	known := b.Meta.knownKeys()
	data := map[string]any{}
	for _, f := range c.fields {
		fv := el.Field(f.index)
		if !known[f.name] && !b.Meta.isSet(f.name) && fv.IsZero() {
			continue
		}
		data[f.name] = fv.Interface()
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("ovo: ResetChanges of %s: %w", c.Name, err)
	}
	m := &Meta{Name: c.Name, Namespace: c.Namespace, Version: b.Meta.version(), Data: raw}
	if b.Meta != nil {
		m.Unknown = b.Meta.Unknown
	}
	b.Meta = m
	return nil
}

// baseline returns, by field, the JSON of the values an object arrived
// with (or had at its last ResetChanges): what its fields are compared with
// to find what the plugin changed. Comparing JSON rather than Go values
// ignores what encoding drops (a time's monotonic clock, unexported state).
func (c *Class) baseline(meta *Meta) (map[string][]byte, error) {
	if meta == nil || meta.Data == nil {
		return nil, nil
	}
	v := reflect.New(c.typ)
	if err := decodeJSON(meta.Data, v.Interface()); err != nil {
		return nil, fmt.Errorf("object %s: %w", c.Name, err)
	}
	out := make(map[string][]byte, len(c.fields))
	for _, f := range c.fields {
		b, err := json.Marshal(v.Elem().Field(f.index).Interface())
		if err != nil {
			return nil, fmt.Errorf("object %s: field %s: %w", c.Name, f.name, err)
		}
		out[f.name] = b
	}
	return out, nil
}

func sameJSON(want []byte, v reflect.Value) bool {
	b, err := json.Marshal(v.Interface())
	return err == nil && bytes.Equal(b, want)
}

func (m *Meta) version() string {
	if m == nil {
		return ""
	}
	return m.Version
}

// hasChanges reports whether an encoded field value is an object primitive
// with changes, or a list holding one (oslo's obj_what_changed counts a
// field whose object has changes).
func (e *encoder) hasChanges(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		_, ok := v[e.r.serial+".changes"]
		return ok
	case []any:
		return slices.ContainsFunc(v, e.hasChanges)
	}
	return false
}

func compatibler(rv reflect.Value) (Compatibler, bool) {
	if mc, ok := rv.Interface().(Compatibler); ok {
		return mc, true
	}
	if rv.CanAddr() {
		mc, ok := rv.Addr().Interface().(Compatibler)
		return mc, ok
	}
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	mc, ok := p.Interface().(Compatibler)
	return mc, ok
}

func jsonName(sf reflect.StructField) (name string, omitEmpty, skip bool) {
	name = sf.Name
	tag, ok := sf.Tag.Lookup("json")
	if !ok {
		return name, false, false
	}
	n, opts, _ := cutComma(tag)
	if n == "-" && opts == "" {
		return "", false, true
	}
	if n != "" {
		name = n
	}
	for opts != "" {
		var o string
		o, opts, _ = cutComma(opts)
		if o == "omitempty" || o == "omitzero" {
			omitEmpty = true
		}
	}
	return name, omitEmpty, false
}

func cutComma(s string) (before, after string, found bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// holdsObjects reports whether values of t may hold declared objects.
func (r *Registry) holdsObjects(t reflect.Type) bool {
	if v, ok := r.holds.Load(t); ok {
		return v.(bool)
	}
	res := r.walkHolds(t, map[reflect.Type]bool{})
	r.holds.Store(t, res)
	return res
}

func (r *Registry) walkHolds(t reflect.Type, seen map[reflect.Type]bool) bool {
	if r.byType[t] != nil || t.Kind() == reflect.Interface {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return r.walkHolds(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if sf := t.Field(i); sf.IsExported() && r.walkHolds(sf.Type, seen) {
				return true
			}
		}
	}
	return false
}
