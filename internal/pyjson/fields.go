package pyjson

import (
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// Field is one JSON member of a struct type, found as encoding/json finds
// it: exported fields under their json tag name (or Go name), the fields
// of embedded structs promoted, a shallower or tagged field hiding deeper
// ones of the same name, ambiguous names dropped.
type Field struct {
	Name      string
	Index     []int // for reflect.Value.FieldByIndex, through embedded structs
	Type      reflect.Type
	Tagged    bool // the name comes from a json tag
	OmitEmpty bool
	OmitZero  bool
	Quoted    bool // ",string" on a bool, number or string field
}

// Optional reports whether a Python caller may leave the argument out: its
// json tag says omitempty or omitzero.
func (f *Field) Optional() bool { return f.OmitEmpty || f.OmitZero }

// StructFields are the JSON members of a struct type.
type StructFields struct {
	List   []Field        // in declaration order
	ByName map[string]int // exact (case-sensitive) name → index in List
}

var fieldCache sync.Map // reflect.Type → *StructFields

// Fields returns the JSON members of struct type t, cached per type; the
// result is shared and must not be modified.
func Fields(t reflect.Type) *StructFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*StructFields)
	}
	sf := &StructFields{List: typeFields(t), ByName: map[string]int{}}
	for i, f := range sf.List {
		sf.ByName[f.Name] = i
	}
	f, _ := fieldCache.LoadOrStore(t, sf)
	return f.(*StructFields)
}

// typeFields is encoding/json's field discovery (encode.go typeFields),
// breadth first through embedded structs.
func typeFields(t reflect.Type) []Field {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var current []queued
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []Field
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := 0; i < q.typ.NumField(); i++ {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(q.index[:len(q.index):len(q.index)], i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := Field{Name: name, Index: index, Type: sf.Type, Tagged: name != ""}
					if f.Name == "" {
						f.Name = sf.Name
					}
					for _, o := range strings.Split(opts, ",") {
						switch o {
						case "omitempty":
							f.OmitEmpty = true
						case "omitzero":
							f.OmitZero = true
						case "string":
							switch ft.Kind() {
							case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
								reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
								reflect.Float32, reflect.Float64, reflect.String:
								f.Quoted = true
							}
						}
					}
					fields = append(fields, f)
					if count[q.typ] > 1 {
						// Two embeddings at one depth: the copy annihilates both.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	sort.SliceStable(fields, func(i, j int) bool {
		x, y := fields[i], fields[j]
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		if len(x.Index) != len(y.Index) {
			return len(x.Index) < len(y.Index)
		}
		if x.Tagged != y.Tagged {
			return x.Tagged
		}
		return indexLess(x.Index, y.Index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].Name == fields[i].Name {
			j++
		}
		if f, ok := dominantField(fields[i:j]); ok {
			out = append(out, f)
		}
		i = j
	}
	sort.Slice(out, func(i, j int) bool { return indexLess(out[i].Index, out[j].Index) })
	return out
}

// dominantField picks the field that wins among fields of one name, sorted
// by depth then tagged first: the only shallowest one, or the only tagged
// shallowest one; none when ambiguous.
func dominantField(fs []Field) (Field, bool) {
	if len(fs) > 1 && len(fs[0].Index) == len(fs[1].Index) && fs[0].Tagged == fs[1].Tagged {
		return Field{}, false
	}
	return fs[0], true
}

func indexLess(a, b []int) bool {
	for k, x := range a {
		if k >= len(b) {
			return false
		}
		if x != b[k] {
			return x < b[k]
		}
	}
	return len(a) < len(b)
}

// validTagName is encoding/json's isValidTag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
