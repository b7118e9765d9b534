package oslo

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchPayload is a JSON object of about size bytes, with the kind of
// values RPC arguments hold (strings, some needing escapes, numbers,
// nested lists).
func benchPayload(size int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{`)
	for i := 0; ; i++ {
		var entry string
		switch i % 4 {
		case 0:
			entry = fmt.Sprintf(`"name_%d":"instance-%08d"`, i, i)
		case 1:
			entry = fmt.Sprintf(`"note_%d":"h\u00e9llo \"quoted\" \\ path"`, i)
		case 2:
			entry = fmt.Sprintf(`"size_%d":%d`, i, i*1024)
		case 3:
			entry = fmt.Sprintf(`"list_%d":[1,2.5,null,true]`, i)
		}
		if b.Len()+len(entry)+2 > size {
			break
		}
		if i > 0 {
			b.WriteString(`,`)
		}
		b.WriteString(entry)
	}
	b.WriteString(`}`)
	return json.RawMessage(b.String())
}

var benchSizes = []struct {
	name string
	size int
}{
	{"100B", 100},
	{"10KiB", 10 << 10},
}

func benchRequest(size int) *Request {
	return &Request{
		Method:   "echo",
		Args:     benchPayload(size),
		MsgID:    "2a7b6186deb141c38183ff85fa4fa5cc",
		ReplyQ:   "reply_5da6b3ad22a54f39b1615a8805567765",
		Timeout:  json.RawMessage("null"),
		UniqueID: "1e2a12060818433f8474fed69b46ff3b",
		Context: Context{
			"user_id":    json.RawMessage(`"u1"`),
			"project_id": json.RawMessage(`"p1"`),
			"request_id": json.RawMessage(`"req-abc"`),
			"roles":      json.RawMessage(`["admin","member"]`),
			"is_admin":   json.RawMessage(`true`),
			"auth_token": json.RawMessage(`"SECRET-TOKEN"`),
		},
	}
}

func benchReply(size int) *Reply {
	return &Reply{
		Result:   benchPayload(size),
		Ending:   true,
		MsgID:    "2a7b6186deb141c38183ff85fa4fa5cc",
		UniqueID: "b6b4d06322f3426a81fc37df09bcdc2f",
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			body := benchRequest(s.size).Encode()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRequest(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRequestEncode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			r := benchRequest(s.size)
			b.SetBytes(int64(len(r.Encode())))
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Encode()
			}
		})
	}
}

func BenchmarkReplyEncode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			r := benchReply(s.size)
			body, err := r.Encode()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeReply(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			body, err := benchReply(s.size).Encode()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeReply(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The failure path: a reply carrying a marshalled failure.
func BenchmarkReplyEncodeFailure(b *testing.B) {
	r := &Reply{Failure: BuiltinError("ValueError", "bad value: v1"), Ending: true, MsgID: "m", UniqueID: "u"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchPayloadSizes(t *testing.T) {
	for _, s := range benchSizes {
		p := benchPayload(s.size)
		if !json.Valid(p) || len(p) < s.size*8/10 || len(p) > s.size {
			t.Errorf("payload %s: %d bytes, valid %v", s.name, len(p), json.Valid(p))
		}
	}
}
