package cli

import (
	"encoding/json"
	"fmt"
	"strings"
)

// parseKeyValues turns words of the form key=value into a JSON object's
// members: a value that is valid JSON (a number, true, false, null, a
// quoted string, an object, an array) is taken as that JSON, anything else
// as a plain string. The key is everything before the first "=". what names
// the words in errors ("argument", "--context").
func parseKeyValues(words []string, what string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(words))
	for _, w := range words {
		key, value, ok := strings.Cut(w, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%s %q is not key=value", what, w)
		case key == "":
			return nil, fmt.Errorf("%s %q has an empty key", what, w)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s %q: key %q given twice", what, w, key)
		}
		out[key] = jsonValue(value)
	}
	return out, nil
}

// jsonValue is value itself when it is valid JSON, else value as a JSON string.
func jsonValue(value string) json.RawMessage {
	if v := strings.TrimSpace(value); v != "" && json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(value) // a string always marshals
	return b
}
