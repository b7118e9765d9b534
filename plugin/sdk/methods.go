package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"

	"github.com/oslohost/oslohost/internal/pyjson"
)

var (
	ctxType    = reflect.TypeFor[context.Context]()
	errType    = reflect.TypeFor[error]()
	configType = reflect.TypeFor[Config]()
)

// method is one RPC method of an endpoint, ready to call.
type method struct {
	name     string               // RPC (snake_case) name
	qualName string               // as Python names the method in a TypeError: "Calc.add"
	goName   string               // Go method name
	fn       reflect.Value        // bound method value
	argType  reflect.Type         // nil when the method takes no args
	params   *pyjson.StructFields // the keyword arguments of a struct argType; nil for a map or no args
	numbers  bool                 // argType holds an interface somewhere: decode with UseNumber
	hasRes   bool                 // false for func(ctx[, T]) error
	pc       uintptr              // entry of the method, for tracebacks
}

// compiledEndpoint is an Endpoint with its methods discovered.
type compiledEndpoint struct {
	namespace string
	version   string
	legacy    []string
	methods   map[string]*method
	names     []string // sorted RPC names

	serializer Serializer // Endpoint.Serializer
}

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// compile discovers the RPC methods of e.Impl. Errors describe what to fix.
func compile(e Endpoint) (*compiledEndpoint, error) {
	label := fmt.Sprintf("endpoint (namespace %q, version %q)", e.Namespace, e.Version)
	if e.Impl == nil {
		return nil, fmt.Errorf("%s: Impl is nil", label)
	}
	version := e.Version
	if version == "" {
		version = DefaultVersion
	}
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("%s: version must look like \"1.0\"", label)
	}
	v := reflect.ValueOf(e.Impl)
	t := v.Type()
	ce := &compiledEndpoint{namespace: e.Namespace, version: version, legacy: e.LegacyNamespaces, methods: map[string]*method{}}
	ce.serializer = e.Serializer
	var errs []error
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		rm, err := compileMethod(typeName(t), m, v.Method(i))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: method %s.%s: %w", label, typeName(t), m.Name, err))
			continue
		}
		if rm == nil {
			continue
		}
		if prev, ok := ce.methods[rm.name]; ok {
			errs = append(errs, fmt.Errorf("%s: methods %s and %s both map to RPC name %q", label, prev.goName, rm.goName, rm.name))
			continue
		}
		ce.methods[rm.name] = rm
		ce.names = append(ce.names, rm.name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(ce.methods) == 0 {
		hint := ""
		if t.Kind() != reflect.Pointer {
			hint = " (methods with pointer receivers need Impl to be a pointer: &" + typeName(t) + "{})"
		}
		return nil, fmt.Errorf("%s: %s has no RPC methods of the form func(context.Context, Args) (Result, error)%s", label, typeName(t), hint)
	}
	sort.Strings(ce.names)
	return ce, nil
}

// compileMethod returns the RPC method of m, nil when m is not meant as one
// (its first parameter is not a context.Context, or it is a lifecycle hook),
// and an error when it takes a context but has an unsupported shape.
func compileMethod(class string, m reflect.Method, bound reflect.Value) (*method, error) {
	ft := bound.Type()
	if ft.NumIn() == 0 || ft.In(0) != ctxType {
		return nil, nil
	}
	if isHook(m.Name, ft) {
		return nil, nil
	}
	if ft.NumIn() == 2 && isNotificationParam(ft.In(1)) {
		return nil, nil // a notification handler method of the same Impl
	}
	rm := &method{name: SnakeCase(m.Name), goName: m.Name, fn: bound, pc: m.Func.Pointer()}
	rm.qualName = class + "." + rm.name
	switch ft.NumIn() {
	case 1:
	case 2:
		at := ft.In(1)
		if !argsTypeOK(at) {
			return nil, fmt.Errorf("args type %s: want a struct, a pointer to a struct or a map with string keys", at)
		}
		rm.argType = at
		rm.numbers = holdsInterface(at, map[reflect.Type]bool{})
		switch {
		case at.Kind() == reflect.Struct:
			rm.params = pyjson.Fields(at)
		case at.Kind() == reflect.Pointer:
			rm.params = pyjson.Fields(at.Elem())
		}
	default:
		return nil, fmt.Errorf("takes %d parameters: want (ctx) or (ctx, args)", ft.NumIn())
	}
	switch {
	case ft.NumOut() == 2 && ft.Out(1) == errType:
		rm.hasRes = true
	case ft.NumOut() == 1 && ft.Out(0) == errType:
	default:
		return nil, errors.New("results must be (Result, error) or error")
	}
	if ft.IsVariadic() {
		return nil, errors.New("variadic methods are not supported")
	}
	return rm, nil
}

// isHook reports whether m is a lifecycle hook rather than an RPC method:
// Configure(context.Context, sdk.Config) error or Close(context.Context) error.
func isHook(name string, ft reflect.Type) bool {
	if ft.NumOut() != 1 || ft.Out(0) != errType {
		return false
	}
	switch name {
	case "Configure":
		return ft.NumIn() == 2 && ft.In(1) == configType
	case "Close":
		return ft.NumIn() == 1
	}
	return false
}

func argsTypeOK(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Pointer:
		return t.Elem().Kind() == reflect.Struct
	case reflect.Map:
		return t.Key().Kind() == reflect.String
	}
	return false
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// holdsInterface reports whether decoding JSON into t can store a number
// in an interface value (so that json.Decoder.UseNumber matters). A type
// that decodes itself (json.Unmarshaler) decides for itself.
func holdsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsInterface(t.Elem(), seen)
	case reflect.Map:
		return holdsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
