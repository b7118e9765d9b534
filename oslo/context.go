package oslo

import (
	"encoding/json"
	"sort"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// ContextPrefix marks the request-context keys flattened into a message.
const ContextPrefix = "_context_"

// Context is an oslo request context (oslo.context's to_dict()): each key's
// value kept as raw JSON so unknown keys and nested values pass through
// untouched. A nil Context is empty.
type Context map[string]json.RawMessage

// ContextFrom builds a Context from plain Go values, each marshalled to
// JSON as a Python peer writes it (pyjson.Marshal: a float stays a float).
func ContextFrom(m map[string]any) (Context, error) {
	if len(m) == 0 {
		return nil, nil
	}
	c := make(Context, len(m))
	for k, v := range m {
		b, err := pyjson.Marshal(v)
		if err != nil {
			return nil, err
		}
		c[k] = b
	}
	return c, nil
}

// String returns the value of key when it is a JSON string, else "".
func (c Context) String(key string) string {
	var s string
	if v, ok := c[key]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

// sortedKeys returns c's keys in order, so encodings are deterministic.
func (c Context) sortedKeys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MarshalJSON writes the context as a JSON object with sorted keys.
func (c Context) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("{}"), nil
	}
	dst := []byte{'{'}
	for i, k := range c.sortedKeys() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = pyjson.AppendString(dst, k)
		dst = append(dst, ':')
		dst = appendRaw(dst, c[k])
	}
	return append(dst, '}'), nil
}
