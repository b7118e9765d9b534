package oslo

import "encoding/json"

// appendRaw appends a raw JSON value, or null when it is empty.
func appendRaw(dst []byte, v json.RawMessage) []byte {
	if len(v) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, v...)
}
