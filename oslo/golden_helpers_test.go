package oslo

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenMessage is one message captured from Python oslo.messaging 14.0.3
// (testdata/golden.json, a copy of the spec's oslo-rabbit-wire-golden.json).
type goldenMessage struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Exchange    string         `json:"exchange"`
	RoutingKey  string         `json:"routing_key"`
	Properties  map[string]any `json:"properties"`
	Body        string         `json:"body"`
}

var golden = sync.OnceValues(func() ([]goldenMessage, error) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		return nil, err
	}
	var msgs []goldenMessage
	if err := json.Unmarshal(data, &msgs); err != nil {
		return nil, err
	}
	return msgs, nil
})

// loadGolden returns every captured message.
func loadGolden(tb testing.TB) []goldenMessage {
	tb.Helper()
	msgs, err := golden()
	if err != nil {
		tb.Fatalf("load golden messages: %v", err)
	}
	if len(msgs) == 0 {
		tb.Fatal("no golden messages")
	}
	return msgs
}

// goldenBody returns the body of the capture called name.
func goldenBody(tb testing.TB, name string) []byte {
	tb.Helper()
	for _, m := range loadGolden(tb) {
		if m.Name == name {
			return []byte(m.Body)
		}
	}
	tb.Fatalf("no golden message %q", name)
	return nil
}

// goldenKind classifies a capture by its name.
func goldenKind(name string) string {
	switch {
	case strings.HasPrefix(name, "notification_"):
		return "notification"
	case strings.Contains(name, "_reply"):
		return "reply"
	case strings.HasSuffix(name, "_request"), strings.HasPrefix(name, "call_request"):
		return "request"
	}
	return ""
}

// decodeJSON parses data into generic values, numbers kept exact.
func decodeJSON(tb testing.TB, data []byte) any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decode JSON %s: %v", truncate(data, 200), err)
	}
	if dec.More() {
		tb.Fatalf("trailing data after JSON %s", truncate(data, 200))
	}
	return v
}

// assertJSONEqual fails unless got and want hold the same JSON value.
func assertJSONEqual(tb testing.TB, what string, got, want []byte) {
	tb.Helper()
	if len(got) == 0 {
		got = []byte("null")
	}
	if len(want) == 0 {
		want = []byte("null")
	}
	if diff := cmp.Diff(decodeJSON(tb, want), decodeJSON(tb, got), numbersEqual); diff != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

// structure parses a message body into nested generic values, following
// the double encodings: the envelope's oslo.message string and a reply's
// failure string become the structures they hold. Two bodies with equal
// structures carry the same message whatever their separators, escapes and
// key order.
func structure(tb testing.TB, body []byte) any {
	tb.Helper()
	v := decodeJSON(tb, body)
	env, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if s, ok := env[EnvelopeMessageKey].(string); ok {
		inner, ok := decodeJSON(tb, []byte(s)).(map[string]any)
		if !ok {
			tb.Fatalf("oslo.message is not an object: %s", s)
		}
		if f, ok := inner["failure"].(string); ok && f != "" {
			inner["failure"] = decodeJSON(tb, []byte(f))
		}
		env[EnvelopeMessageKey] = inner
	}
	return env
}

// rawJSONEqual is a cmp option comparing json.RawMessage values as JSON
// values, not bytes (encoding/json compacts raw values it marshals). Empty
// equals only empty; text that is not JSON is compared byte for byte.
var rawJSONEqual = cmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	va, errA := decodeAny(a)
	vb, errB := decodeAny(b)
	if errA != nil || errB != nil {
		return bytes.Equal(a, b)
	}
	return jsonValuesEqual(va, vb)
})

// jsonValuesEqual compares decoded JSON values (numbers by value, as
// numbersEqual does) in time linear in their size; cmp.Equal with a
// Comparer takes time exponential in the nesting depth, so a fuzz input
// nested a few dozen levels deep would hang.
func jsonValuesEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !jsonValuesEqual(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonValuesEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		ra, okA := new(big.Rat).SetString(string(a))
		rb, okB := new(big.Rat).SetString(string(b))
		if !okA || !okB {
			return a == b
		}
		return ra.Cmp(rb) == 0
	default: // string, bool, nil
		return a == b
	}
}

// numbersEqual compares JSON numbers by value: 2.5e3 equals 2500.0.
var numbersEqual = cmp.Comparer(func(a, b json.Number) bool {
	ra, okA := new(big.Rat).SetString(string(a))
	rb, okB := new(big.Rat).SetString(string(b))
	if !okA || !okB {
		return a == b
	}
	return ra.Cmp(rb) == 0
})

func decodeAny(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
