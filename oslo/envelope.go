package oslo

import (
	"encoding/json"
	"fmt"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// Envelope keys and the only format version oslo.messaging writes.
const (
	EnvelopeVersionKey = "oslo.version"
	EnvelopeMessageKey = "oslo.message"
	EnvelopeVersion    = "2.0"
)

// Wrap puts an inner message (JSON object text) into the 2.0 envelope:
// {"oslo.version": "2.0", "oslo.message": "<inner as a JSON string>"}.
func Wrap(inner []byte) []byte {
	dst := make([]byte, 0, len(inner)+len(inner)/8+48)
	return appendEnvelope(dst, inner)
}

func appendEnvelope(dst, inner []byte) []byte {
	dst = append(dst, `{"oslo.version":"2.0","oslo.message":`...)
	dst = pyjson.AppendString(dst, inner)
	return append(dst, '}')
}

// Unwrap returns the inner message of a body, following
// oslo_messaging/_drivers/common.py deserialize_msg: a JSON object with both
// envelope keys (spelled exactly so) is unwrapped (its version must be
// compatible with 2.0 and its message a string); an object lacking either
// key is itself the inner message (format 1.0). Anything else is malformed.
func Unwrap(body []byte) ([]byte, error) {
	if !validJSON(body) {
		var v any
		return nil, fmt.Errorf("%w: %v", ErrMalformed, json.Unmarshal(body, &v))
	}
	var version, message []byte
	hasVersion, hasMessage := false, false
	err := pyjson.EachMember(body, func(key []byte, escaped bool, value []byte) error {
		k := string(key)
		if escaped {
			k = pyjson.MemberKey(key, true)
		}
		switch k {
		case EnvelopeVersionKey:
			version, hasVersion = value, true
		case EnvelopeMessageKey:
			message, hasMessage = value, true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if !hasVersion || !hasMessage {
		return trimSpace(body), nil
	}
	if string(version) == "null" {
		// version_is_compatible("2.0", None) is false in Python.
		return nil, fmt.Errorf("%w null", ErrEnvelopeVersion)
	}
	if version[0] != '"' {
		return nil, fmt.Errorf("%w: oslo.version is not a string", ErrMalformed)
	}
	v := pyjson.Unquote(version)
	if v != EnvelopeVersion {
		if ok, err := Compatible(EnvelopeVersion, v); err != nil || !ok {
			return nil, fmt.Errorf("%w %q", ErrEnvelopeVersion, v)
		}
	}
	if message[0] != '"' {
		return nil, fmt.Errorf("%w: oslo.message is not a string", ErrMalformed)
	}
	return pyjson.UnquoteBytes(message), nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
