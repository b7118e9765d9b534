package ovo

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Class declares a Go struct type as a versioned object: its oslo name,
// project namespace and current version. Make one with [Object].
type Class struct {
	// Name is the object's name, e.g. "Instance" (obj_name()).
	Name string
	// Namespace is OBJ_PROJECT_NAMESPACE, e.g. "nova".
	Namespace string
	// Version is the newest version the Go type holds, "major.minor".
	Version string

	typ    reflect.Type // the struct type
	base   int          // index of the embedded Base
	fields []field      // in struct order
}

// field is one struct field that is an object field.
type field struct {
	name  string // the primitive's key (the json name)
	index int    // struct field index
	since Version
}

// Object declares the struct type T as the versioned object name of
// namespace at version. T embeds [Base]; its object fields are its exported
// fields, named by their json tag (as encoding/json names them; "-" leaves a
// field out). A field added in a later version than the object's first says
// so in an ovo tag, ovo:"since=2.6": obj_make_compatible drops it for a
// caller that reads an older version. A field's value is encoded and
// decoded with encoding/json, except that fields holding declared objects
// (T, *T, []T, []*T, map[string]*T) are versioned objects themselves.
//
// Object panics when T is not a struct embedding Base or a tag is malformed:
// declarations are made once, at package initialisation.
func Object[T any](name, namespace, version string) *Class {
	t := reflect.TypeFor[T]()
	c, err := newClass(t, name, namespace, version)
	if err != nil {
		panic("ovo: " + err.Error())
	}
	return c
}

var baseType = reflect.TypeFor[Base]()

func newClass(t reflect.Type, name, namespace, version string) (*Class, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("object %s: %s is not a struct", name, t)
	}
	if _, err := ParseVersion(version); err != nil {
		return nil, fmt.Errorf("object %s: %w", name, err)
	}
	c := &Class{Name: name, Namespace: namespace, Version: version, typ: t}
	hasBase := false
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type == baseType {
			hasBase, c.base = true, i
			continue
		}
		if !sf.IsExported() {
			continue
		}
		jname := sf.Name
		if tag, ok := sf.Tag.Lookup("json"); ok {
			n, _, _ := strings.Cut(tag, ",")
			if n == "-" {
				continue
			}
			if n != "" {
				jname = n
			}
		}
		f := field{name: jname, index: i}
		if tag, ok := sf.Tag.Lookup("ovo"); ok {
			v, found := strings.CutPrefix(tag, "since=")
			if !found {
				return nil, fmt.Errorf("object %s: field %s: tag ovo:%q: want ovo:\"since=X.Y\"", name, sf.Name, tag)
			}
			pv, err := ParseVersion(v)
			if err != nil {
				return nil, fmt.Errorf("object %s: field %s: %w", name, sf.Name, err)
			}
			f.since = pv
		}
		c.fields = append(c.fields, f)
	}
	if !hasBase {
		return nil, fmt.Errorf("object %s: %s does not embed ovo.Base", name, t)
	}
	return c, nil
}

// Registry holds the declared objects of one serial namespace, as
// oslo.versionedobjects' registry does for a project. It is immutable once
// made and safe for concurrent use.
type Registry struct {
	serial string
	byName map[string]*Class // by namespace + "." + name
	byType map[reflect.Type]*Class
	holds  sync.Map // reflect.Type → bool: may hold objects
}

// NewRegistry returns a registry of classes whose primitives use the
// serial namespace serial: "nova_object" for Nova, "versioned_object"
// (oslo.versionedobjects' default) for Cinder and most others. It panics
// when two classes share a name or a Go type.
func NewRegistry(serial string, classes ...*Class) *Registry {
	r := &Registry{serial: serial, byName: map[string]*Class{}, byType: map[reflect.Type]*Class{}}
	for _, c := range classes {
		key := c.Namespace + "." + c.Name
		if _, dup := r.byName[key]; dup {
			panic(fmt.Sprintf("ovo: object %s declared twice", key))
		}
		if _, dup := r.byType[c.typ]; dup {
			panic(fmt.Sprintf("ovo: type %s declared twice", c.typ))
		}
		r.byName[key] = c
		r.byType[c.typ] = c
	}
	return r
}

// SerialNamespace is the prefix of the primitives' keys, e.g. "nova_object".
func (r *Registry) SerialNamespace() string { return r.serial }

// Manifest returns the versions the registry knows, by object name: what
// oslo sends as object_versions to a conductor's object_backport_versions.
func (r *Registry) Manifest() Manifest {
	m := Manifest{}
	for _, c := range r.byName {
		m[c.Name] = c.Version
	}
	return m
}

func (r *Registry) lookup(namespace, name string) *Class {
	return r.byName[namespace+"."+name]
}

// Manifest maps object names to versions (oslo's version_manifest).
type Manifest map[string]string

// Version is a parsed "major.minor" object or API version.
type Version struct{ Major, Minor int }

// ParseVersion parses "X.Y", and "X.Y.Z" ignoring Z (as oslo accepts a
// patch level without a backport).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("version %q: want \"major.minor\"", s)
	}
	var v [2]int
	for i := range 2 {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("version %q: want \"major.minor\"", s)
		}
		v[i] = n
	}
	return Version{v[0], v[1]}, nil
}

func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic("ovo: " + err.Error())
	}
	return v
}

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool {
	return v.Major < w.Major || v.Major == w.Major && v.Minor < w.Minor
}

// String returns "major.minor".
func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// IsZero reports whether v is the zero Version (no version).
func (v Version) IsZero() bool { return v == Version{} }

// oldest returns the oldest of the valid versions vs ("" for none).
func oldest(vs ...string) string {
	out, ov := "", Version{}
	for _, s := range vs {
		v, err := ParseVersion(s)
		if err != nil {
			continue
		}
		if out == "" || v.Less(ov) {
			out, ov = v.String(), v
		}
	}
	return out
}

// declares reports whether name is one of c's fields.
func (c *Class) declares(name string) bool {
	return slices.ContainsFunc(c.fields, func(f field) bool { return f.name == name })
}
