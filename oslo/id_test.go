package oslo

import (
	"regexp"
	"testing"
)

var (
	hexIDPattern = regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`)
	uuidPattern  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func isHexID(s string) bool { return hexIDPattern.MatchString(s) }

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !isHexID(id) {
			t.Fatalf("NewID() = %q, not uuid4 hex", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	// The captured ids have the same form.
	for _, id := range []string{"2a7b6186deb141c38183ff85fa4fa5cc", "1e2a12060818433f8474fed69b46ff3b"} {
		if !isHexID(id) {
			t.Errorf("pattern rejects the captured id %q", id)
		}
	}
}

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewUUID()
		if !uuidPattern.MatchString(id) {
			t.Fatalf("NewUUID() = %q, not a dashed uuid4", id)
		}
		if seen[id] {
			t.Fatalf("NewUUID() repeated %q", id)
		}
		seen[id] = true
	}
	// A captured notification message_id has the same form.
	if id := "6a5ead33-bdda-48fa-ba29-e2c90a547c3d"; !uuidPattern.MatchString(id) {
		t.Errorf("pattern rejects the captured id %q", id)
	}
}
