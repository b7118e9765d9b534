package oslo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// Reply is the inner object of a reply message: the final answer to a call
// (Ending true) or a call-monitor heartbeat (Ending false, no result, no
// failure).
type Reply struct {
	// Result is the raw return value; nil means null.
	Result json.RawMessage
	// Failure is the remote exception, nil on success.
	Failure *Failure
	Ending  bool
	MsgID   string
	// UniqueID is a fresh id per reply message; receivers ignore it.
	UniqueID string
}

// IsHeartbeat reports whether r is a call-monitor heartbeat: not ending and
// carrying neither a result nor a failure (how a Python client tells them).
func (r *Reply) IsHeartbeat() bool {
	return !r.Ending && r.Failure == nil && (len(r.Result) == 0 || string(r.Result) == "null")
}

// Heartbeat returns the heartbeat message for a call.
func Heartbeat(msgID string) *Reply {
	return &Reply{MsgID: msgID, UniqueID: NewID()}
}

// Encode returns the reply wrapped in the 2.0 envelope with the five keys a
// Python server always sends: result, failure (a JSON string or null),
// ending, _msg_id, _unique_id.
func (r *Reply) Encode() ([]byte, error) {
	dst := make([]byte, 0, 128+len(r.Result))
	dst = append(dst, `{"result":`...)
	if r.Failure != nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendRaw(dst, r.Result)
	}
	dst = append(dst, `,"failure":`...)
	if r.Failure != nil {
		f, err := MarshalFailure(r.Failure)
		if err != nil {
			return nil, fmt.Errorf("encode failure: %w", err)
		}
		dst = pyjson.AppendString(dst, f)
	} else {
		dst = append(dst, "null"...)
	}
	if r.Ending {
		dst = append(dst, `,"ending":true`...)
	} else {
		dst = append(dst, `,"ending":false`...)
	}
	dst = append(dst, `,"_msg_id":`...)
	dst = pyjson.AppendString(dst, r.MsgID)
	if r.UniqueID != "" {
		dst = append(dst, `,"_unique_id":`...)
		dst = pyjson.AppendString(dst, r.UniqueID)
	}
	dst = append(dst, '}')
	return Wrap(dst), nil
}

// DecodeReply parses a reply body (enveloped or not) as a Python client
// reads it: a missing "ending" is false; "failure" must be null or a string
// holding the failure JSON (an object is malformed, as in Python).
func DecodeReply(body []byte) (*Reply, error) {
	inner, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	if !validJSON(inner) {
		return nil, fmt.Errorf("%w: reply is not valid JSON", ErrMalformed)
	}
	r := &Reply{}
	var failure []byte
	err = pyjson.EachMember(inner, func(key []byte, escaped bool, v []byte) error {
		k := string(key)
		if escaped {
			k = pyjson.MemberKey(key, true)
		}
		switch k {
		case "result":
			r.Result = nil
			if string(v) != "null" {
				r.Result = v
			}
		case "failure":
			failure = v
		case "ending":
			r.Ending = truthy(v)
		case "_msg_id":
			return optString(v, &r.MsgID)
		case "_unique_id":
			return optString(v, &r.UniqueID)
		}
		return nil
	})
	if errors.Is(err, pyjson.ErrNotObject) {
		return nil, fmt.Errorf("%w: reply is not an object", ErrMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reply: %v", ErrMalformed, err)
	}
	switch {
	case len(failure) == 0 || string(failure) == "null":
	case failure[0] == '"':
		if s := pyjson.UnquoteBytes(failure); len(s) > 0 {
			if r.Failure, err = UnmarshalFailure(s); err != nil {
				return r, err
			}
		}
	default:
		return r, fmt.Errorf("%w: reply failure is not a string", ErrMalformed)
	}
	return r, nil
}

// truthy is Python's bool() of a JSON value.
func truthy(v []byte) bool {
	switch s := string(v); s {
	case "true":
		return true
	case "false", "null", `""`, "[]", "{}":
		return false
	default:
		if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
			f, err := strconv.ParseFloat(s, 64)
			return err == nil && f != 0
		}
		return true // a non-empty string, array or object
	}
}
