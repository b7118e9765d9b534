package pyjson

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Marshal encodes v as encoding/json does (struct tags, omitempty,
// omitzero, embedded fields, json.Marshaler and encoding.TextMarshaler,
// json.Number verbatim, sorted map keys), with two differences that keep
// values as a Python peer wrote them: HTML characters are not escaped, and
// floating-point values are written as Python's json.dumps writes a float
// (1.0, not 1; 1e+16, not 10000000000000000), so that a Go float64 reaches
// Python as a float and an integer type as an int.
func Marshal(v any) ([]byte, error) {
	e := &encoder{}
	if err := e.value(reflect.ValueOf(v), false); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// maxDepth bounds nesting, catching cycles as encoding/json does.
const maxDepth = 1000

type encoder struct {
	buf   []byte
	depth int
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
)

// value appends v; quoted is the ",string" option of the field holding it.
func (e *encoder) value(v reflect.Value, quoted bool) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	t := v.Type()
	if t == numberType {
		return e.number(v.String(), quoted)
	}
	if v.CanInterface() { // not for values read through unexported embedded fields
		if t.Implements(marshalerType) {
			return e.marshaler(v)
		}
		if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
			return e.marshaler(v.Addr())
		}
		if t.Implements(textMarshalerType) {
			return e.textMarshaler(v)
		}
		if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
			return e.textMarshaler(v.Addr())
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		e.scalar(strconv.AppendBool(nil, v.Bool()), quoted)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.scalar(strconv.AppendInt(nil, v.Int(), 10), quoted)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.scalar(strconv.AppendUint(nil, v.Uint(), 10), quoted)
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return &json.UnsupportedValueError{Value: v, Str: strconv.FormatFloat(f, 'g', -1, bits)}
		}
		e.scalar(AppendFloat(nil, f, bits), quoted)
	case reflect.String:
		if quoted {
			e.string(string(AppendString(nil, v.String())))
		} else {
			e.string(v.String())
		}
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.nested(v.Elem(), false)
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.nested(v.Elem(), quoted)
	case reflect.Struct:
		return e.structValue(v)
	case reflect.Map:
		return e.mapValue(v)
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(marshalerType) &&
			!reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			e.buf = append(e.buf, '"')
			e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
			e.buf = append(e.buf, '"')
			return nil
		}
		return e.array(v)
	case reflect.Array:
		return e.array(v)
	default:
		return &json.UnsupportedTypeError{Type: t}
	}
	return nil
}

// nested appends v one level deeper, failing past maxDepth (a cycle).
func (e *encoder) nested(v reflect.Value, quoted bool) error {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxDepth {
		return &json.UnsupportedValueError{Value: v, Str: fmt.Sprintf("encountered a cycle via %s", v.Type())}
	}
	return e.value(v, quoted)
}

func (e *encoder) scalar(b []byte, quoted bool) {
	if quoted {
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, b...)
		e.buf = append(e.buf, '"')
		return
	}
	e.buf = append(e.buf, b...)
}

func (e *encoder) string(s string) { e.buf = AppendString(e.buf, s) }

func (e *encoder) number(s string, quoted bool) error {
	if s == "" {
		s = "0" // as encoding/json writes an empty json.Number
	}
	if !json.Valid([]byte(s)) || s[0] == '"' || s[0] == '{' || s[0] == '[' || s[0] == 't' || s[0] == 'f' || s[0] == 'n' {
		return fmt.Errorf("json: invalid number literal %q", s)
	}
	e.scalar([]byte(s), quoted)
	return nil
}

func (e *encoder) marshaler(v reflect.Value) error {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	b, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return &json.MarshalerError{Err: err}
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return &json.MarshalerError{Err: err}
	}
	e.buf = append(e.buf, out.Bytes()...)
	return nil
}

func (e *encoder) textMarshaler(v reflect.Value) error {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return &json.MarshalerError{Err: err}
	}
	e.string(string(b))
	return nil
}

func (e *encoder) array(v reflect.Value) error {
	e.buf = append(e.buf, '[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.nested(v.Index(i), false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *encoder) mapValue(v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	type member struct {
		key string
		val reflect.Value
	}
	members := make([]member, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKey(it.Key())
		if err != nil {
			return err
		}
		members = append(members, member{k, it.Value()})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].key < members[j].key })
	e.buf = append(e.buf, '{')
	for i, m := range members {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.string(m.key)
		e.buf = append(e.buf, ':')
		if err := e.nested(m.val, false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// mapKey is encoding/json's resolveKeyName.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

func (e *encoder) structValue(v reflect.Value) error {
	e.buf = append(e.buf, '{')
	first := true
	for _, f := range Fields(v.Type()).List {
		fv, ok := fieldByIndex(v, f.Index)
		if !ok || f.OmitEmpty && isEmptyValue(fv) || f.OmitZero && isZeroValue(fv) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.string(f.Name)
		e.buf = append(e.buf, ':')
		if err := e.nested(fv, f.Quoted); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// fieldByIndex is v.FieldByIndex, false when it passes a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZeroValue is omitzero's test: an IsZero() bool method if the type has
// one, reflect's zero otherwise.
func isZeroValue(v reflect.Value) bool {
	if !v.CanInterface() {
		return v.IsZero()
	}
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	if v.CanAddr() {
		if z, ok := v.Addr().Interface().(interface{ IsZero() bool }); ok {
			return z.IsZero()
		}
	}
	return v.IsZero()
}

// AppendFloat appends f as Python's float repr (and so json.dumps)
// writes it: the shortest digits that read back as f; positional notation
// with at least one digit after the point when the decimal exponent is in
// [-4, 16), scientific notation ("1e+16", "1.5e-07") otherwise. bits is 32
// for a float32, whose shortest digits are those of the float32.
func AppendFloat(b []byte, f float64, bits int) []byte {
	s := strconv.FormatFloat(f, 'e', -1, bits) // "-d.ddde±XX"
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		b = append(b, '-')
	}
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1 // digits are 0.ddd × 10^decpt
	if digits == "0" {
		return append(b, "0.0"...)
	}
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b = append(b, "0."...)
			b = append(b, strings.Repeat("0", -decpt)...)
			b = append(b, digits...)
		case decpt >= len(digits):
			b = append(b, digits...)
			b = append(b, strings.Repeat("0", decpt-len(digits))...)
			b = append(b, ".0"...)
		default:
			b = append(b, digits[:decpt]...)
			b = append(b, '.')
			b = append(b, digits[decpt:]...)
		}
		return b
	}
	b = append(b, digits[0])
	if len(digits) > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	if x < 0 {
		b = append(b, '-')
		x = -x
	} else {
		b = append(b, '+')
	}
	if x < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(x), 10)
}
