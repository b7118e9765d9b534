package oslo

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a fresh uuid4 as 32 lowercase hex digits, the form oslo uses
// for _msg_id, _unique_id and queue-name suffixes.
func NewID() string {
	var b [16]byte
	uuid4(&b)
	return hex.EncodeToString(b[:])
}

// NewUUID returns a fresh uuid4 in its dashed form, as oslo uses for a
// notification's message_id.
func NewUUID() string {
	var b [16]byte
	uuid4(&b)
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func uuid4(b *[16]byte) {
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
}
