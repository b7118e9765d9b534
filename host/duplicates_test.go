package host

import (
	"testing"
	"time"

	"github.com/oslohost/oslohost/host/config"
)

// TestDuplicatesKeptPerBlock: the window of a block is the same across
// the servers that replace one another, distinct between blocks and kinds,
// and forgotten once the block is gone.
func TestDuplicatesKeptPerBlock(t *testing.T) {
	cfg := &config.Config{Transport: config.Transport{URL: "rabbit://guest:guest@127.0.0.1:5672/"},
		Host: config.Host{DedupWindow: config.Duration(time.Minute), DedupMaxIDs: 100}}
	h, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := h.duplicates("server", "a")
	a.Seen("id-1", 0)
	tests := []struct {
		name      string
		kind, blk string
		same      bool
	}{
		{"the same block again (a replaced server)", "server", "a", true},
		{"another server block", "server", "b", false},
		{"a listener of the same name", "listener", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.duplicates(tt.kind, tt.blk); (got == a) != tt.same {
				t.Fatalf("same window = %v, want %v", got == a, tt.same)
			}
		})
	}
	h.pruneDuplicates(&config.Config{Servers: []*config.Server{{Name: "b"}}})
	if w := h.duplicates("server", "a"); w == a || w.Contains("id-1") {
		t.Fatal("the window of a removed block was kept")
	}
}
