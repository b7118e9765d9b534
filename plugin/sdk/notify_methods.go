package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

var (
	notificationType      = reflect.TypeFor[Notification]()
	notificationsType     = reflect.TypeFor[[]Notification]()
	notificationResType   = reflect.TypeFor[NotificationResult]()
	notificationResesType = reflect.TypeFor[[]NotificationResult]()
)

// catchAll is the lower-case name of the method handling every priority
// without a method of its own.
const catchAll = "notify"

var handlerNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// notifyMethod is one handler method, ready to call.
type notifyMethod struct {
	goName string
	fn     reflect.Value
	batch  bool // takes []Notification
	hasRes bool // returns results besides the error
}

// compiledHandler is a Notifications with its methods discovered.
type compiledHandler struct {
	name       string
	batch      bool
	methods    map[string]*notifyMethod // by priority, the catch-all filled in
	priorities []string                 // in the order of Priorities
	ser        Serializer               // Notifications.Serializer
}

// compileHandler discovers the handler methods of n.Impl. Errors describe
// what to fix.
func compileHandler(n Notifications) (*compiledHandler, error) {
	label := fmt.Sprintf("notification handler %q", n.Name)
	if !handlerNameRE.MatchString(n.Name) {
		return nil, fmt.Errorf("%s: name must be non-empty letters, digits, '_', '-' or '.'", label)
	}
	if n.Impl == nil {
		return nil, fmt.Errorf("%s: Impl is nil", label)
	}
	v := reflect.ValueOf(n.Impl)
	t := v.Type()
	found := map[string]*notifyMethod{} // by lower-case priority or catchAll
	var errs []error
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		key, nm, err := compileNotifyMethod(m.Name, v.Method(i))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: method %s.%s: %w", label, typeName(t), m.Name, err))
			continue
		}
		if nm == nil {
			continue
		}
		if prev, ok := found[key]; ok {
			errs = append(errs, fmt.Errorf("%s: methods %s and %s both handle %q", label, prev.goName, nm.goName, key))
			continue
		}
		found[key] = nm
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(found) == 0 {
		hint := ""
		if t.Kind() != reflect.Pointer {
			hint = " (methods with pointer receivers need Impl to be a pointer: &" + typeName(t) + "{})"
		}
		return nil, fmt.Errorf("%s: %s has no methods named after a priority (%s) or Notify, of the form func(context.Context, sdk.Notification) (sdk.NotificationResult, error)%s",
			label, typeName(t), strings.Join(Priorities, ", "), hint)
	}
	ch := &compiledHandler{name: n.Name, methods: map[string]*notifyMethod{}, ser: n.Serializer}
	var single, batch []string
	for _, nm := range found {
		if nm.batch {
			batch = append(batch, nm.goName)
		} else {
			single = append(single, nm.goName)
		}
	}
	if len(single) > 0 && len(batch) > 0 {
		slices.Sort(single)
		slices.Sort(batch)
		return nil, fmt.Errorf("%s: mixes batch methods (%s) with single ones (%s): use one kind",
			label, strings.Join(batch, ", "), strings.Join(single, ", "))
	}
	ch.batch = len(batch) > 0
	for _, p := range Priorities {
		nm, ok := found[p]
		if !ok {
			nm, ok = found[catchAll]
		}
		if ok {
			ch.methods[p] = nm
			ch.priorities = append(ch.priorities, p)
		}
	}
	return ch, nil
}

// compileNotifyMethod returns the handler method of a Go method and the
// priority (or catchAll) it handles; nil when it is not meant as one, and an
// error when its name or shape says it is meant as one but it cannot be.
func compileNotifyMethod(goName string, bound reflect.Value) (string, *notifyMethod, error) {
	ft := bound.Type()
	if ft.NumIn() == 0 || ft.In(0) != ctxType {
		return "", nil, nil // like RPC methods: no context first, not meant as one
	}
	lower := strings.ToLower(goName)
	key, isBatch := lower, false
	if k, ok := strings.CutSuffix(lower, "batch"); ok && isHandlerName(k) {
		key, isBatch = k, true
	}
	named := isHandlerName(key)
	takesNotifications := ft.NumIn() == 2 && (ft.In(1) == notificationType || ft.In(1) == notificationsType)
	if !named {
		if takesNotifications {
			return "", nil, fmt.Errorf("takes notifications but is not named after a priority (%s) or Notify, optionally with the suffix Batch",
				strings.Join(Priorities, ", "))
		}
		return "", nil, nil
	}
	in, res := notificationType, notificationResType
	shape := "func(context.Context, sdk.Notification) (sdk.NotificationResult, error)"
	if isBatch {
		in, res = notificationsType, notificationResesType
		shape = "func(context.Context, []sdk.Notification) ([]sdk.NotificationResult, error)"
	}
	if ft.NumIn() != 2 || ft.In(1) != in || ft.IsVariadic() {
		return "", nil, fmt.Errorf("want %s or the same returning only error", shape)
	}
	nm := &notifyMethod{goName: goName, fn: bound, batch: isBatch}
	switch {
	case ft.NumOut() == 2 && ft.Out(0) == res && ft.Out(1) == errType:
		nm.hasRes = true
	case ft.NumOut() == 1 && ft.Out(0) == errType:
	default:
		return "", nil, fmt.Errorf("want %s or the same returning only error", shape)
	}
	return key, nm, nil
}

// isHandlerName reports whether a lower-case method name is a priority or
// the catch-all.
func isHandlerName(lower string) bool {
	return lower == catchAll || slices.Contains(Priorities, lower)
}

// isNotificationParam reports whether a method's parameter makes it a
// notification handler method rather than an RPC method.
func isNotificationParam(t reflect.Type) bool {
	return t == notificationType || t == notificationsType
}
