package ovo

import (
	"encoding/json"
	"slices"
)

// Base is embedded in every object struct (see [Object]). It carries what
// the Go fields do not: the version and changes an object arrived with, the
// fields it arrived with (so that what the plugin changes is sent back as
// the object's changes), and the fields the plugin marked set with
// [Base.ObjSet]. The zero Base is a new object: every field the plugin sets
// to a non-zero value is sent, and is a change. [Registry.ResetChanges] is
// obj_reset_changes.
//
// The exported Meta field exists for encoding/json; leave it alone.
type Base struct {
	Meta *Meta `json:"$ovo,omitempty"`
}

// metaKey is the key of an object's Meta in its decoded form.
const metaKey = "$ovo"

// Meta is what [Base] keeps of an object as it arrived. Its layout is an
// implementation detail of this package.
type Meta struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Version   string          `json:"version"`
	Changes   []string        `json:"changes,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // the fields as they arrived
	// Unknown are the fields the Go type does not declare, as they arrived.
	Unknown map[string]json.RawMessage `json:"unknown,omitempty"`
	set     []string
}

// ObjVersion is the version the object arrived with ("" for an object made
// here). An object is sent back at no newer version than it arrived with,
// as a Python object keeps the VERSION it was read at.
func (b *Base) ObjVersion() string {
	if b.Meta == nil {
		return ""
	}
	return b.Meta.Version
}

// ObjSet marks fields (by their primitive names) as set and changed, also
// when the Go value is zero: a nil pointer of a set field is sent as None.
// Assigning a non-zero value needs no ObjSet. Not safe for concurrent use
// with other uses of the object.
func (b *Base) ObjSet(fields ...string) {
	if b.Meta == nil {
		b.Meta = &Meta{}
	}
	for _, f := range fields {
		if !slices.Contains(b.Meta.set, f) {
			b.Meta.set = append(b.Meta.set, f)
		}
	}
}

func (m *Meta) isSet(field string) bool { return m != nil && slices.Contains(m.set, field) }

func (m *Meta) arrivedChanged(field string) bool {
	return m != nil && slices.Contains(m.Changes, field)
}
