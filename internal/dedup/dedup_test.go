package dedup

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/oslohost/oslohost/oslo"
)

// clock is a settable time for a window.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestWindow(min time.Duration, max int) (*Window, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	w := New(min, max)
	w.now = c.now
	return w, c
}

// TestWindow: each step adds, checks or lets time pass; the window must
// answer as a time-based duplicate check does.
func TestWindow(t *testing.T) {
	tests := []struct {
		name  string
		min   time.Duration
		max   int
		steps []step
	}{
		{"the empty id is never a duplicate", time.Minute, 10, []step{
			{op: "seen", id: ""}, {op: "seen", id: ""}, {op: "contains", id: ""},
		}},
		{"a second sight within the minimum is a duplicate", time.Minute, 10, []step{
			{op: "seen", id: "a"}, {op: "wait", wait: 59 * time.Second}, {op: "seen", id: "a", dup: true},
			{op: "contains", id: "a", dup: true},
		}},
		{"an id is forgotten after the minimum", time.Minute, 10, []step{
			{op: "seen", id: "a"}, {op: "wait", wait: time.Minute}, {op: "contains", id: "a"}, {op: "seen", id: "a"},
		}},
		{"a duplicate does not extend the time", time.Minute, 10, []step{
			{op: "seen", id: "a"}, {op: "wait", wait: 30 * time.Second}, {op: "seen", id: "a", dup: true},
			{op: "wait", wait: 30 * time.Second}, {op: "contains", id: "a"},
		}},
		{"a call's own time to live beyond the minimum keeps it", time.Minute, 10, []step{
			{op: "seen", id: "call", ttl: 30 * time.Minute}, {op: "seen", id: "cast"},
			{op: "wait", wait: 29 * time.Minute}, {op: "contains", id: "cast"}, {op: "contains", id: "call", dup: true},
			{op: "wait", wait: 3 * time.Minute}, {op: "contains", id: "call"},
		}},
		{"a short time to live still gets the minimum", time.Minute, 10, []step{
			{op: "seen", id: "a", ttl: time.Second}, {op: "wait", wait: 50 * time.Second}, {op: "contains", id: "a", dup: true},
		}},
		{"far more than 16 ids later, still a duplicate", time.Minute, 1000, append(
			append([]step{{op: "seen", id: "first"}}, manyIDs(100)...),
			step{op: "seen", id: "first", dup: true})},
		{"full: the id nearest its expiry goes first", time.Minute, 2, []step{
			{op: "seen", id: "long", ttl: time.Hour}, {op: "seen", id: "a"}, {op: "seen", id: "b"},
			{op: "contains", id: "a"}, {op: "contains", id: "long", dup: true}, {op: "contains", id: "b", dup: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, c := newTestWindow(tt.min, tt.max)
			for i, s := range tt.steps {
				var got bool
				switch s.op {
				case "seen":
					got = w.Seen(s.id, s.ttl)
				case "contains":
					got = w.Contains(s.id)
				case "wait":
					c.advance(s.wait)
					continue
				}
				if got != s.dup {
					t.Fatalf("step %d: %s(%q) = %v, want %v", i, s.op, s.id, got, s.dup)
				}
			}
		})
	}
}

func manyIDs(n int) []step {
	var out []step
	for i := 0; i < n; i++ {
		out = append(out, step{op: "seen", id: fmt.Sprint("other-", i)})
	}
	return out
}

// step is one step of a TestWindow case.
type step struct {
	op   string // "seen" (check-and-add), "contains", "wait"
	id   string
	ttl  time.Duration
	wait time.Duration
	dup  bool // the answer wanted from seen/contains
}

func TestWindowEvictionCounted(t *testing.T) {
	w, _ := newTestWindow(time.Minute, 3)
	for i := 0; i < 5; i++ {
		w.Seen(oslo.NewID(), 0)
	}
	if st := w.Stats(); st.IDs != 3 || st.Evicted != 2 {
		t.Fatalf("stats %+v, want 3 ids and 2 evicted", st)
	}
}

// TestWindowMemory measures the window at 10,000 messages/s: steady state
// with the default minimum (one minute of casts), and the bound (the
// default maximum, reached by calls with long timeouts). It reports the
// heap bytes per id and in all.
func TestWindowMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MB")
	}
	const rate = 10_000 // per second
	ids := make([]string, 0, 4096)
	for i := 0; i < cap(ids); i++ {
		ids = append(ids, oslo.NewID())
	}
	cases := []struct {
		name    string
		seconds int
		ttl     time.Duration
		wantIDs int
	}{
		{"casts, 3 min at 10k/s, 1 min kept", 180, 0, 60 * rate},
		{"30 min calls, 3 min at 10k/s, capped", 180, 30 * time.Minute, DefaultMaxIDs},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := heap()
			w, c := newTestWindow(DefaultMinTTL, DefaultMaxIDs)
			n := 0
			for s := 0; s < tc.seconds; s++ {
				for i := 0; i < rate; i++ {
					id := ids[n%len(ids)]
					n++
					// distinct ids: vary the first 8 hex digits by the counter
					id = fmt.Sprintf("%08x", n) + id[8:]
					w.Seen(id, tc.ttl)
					c.advance(time.Second / rate)
				}
			}
			st := w.Stats()
			after := heap()
			runtime.KeepAlive(w)
			if st.IDs < tc.wantIDs*99/100 || st.IDs > tc.wantIDs {
				t.Fatalf("ids kept %d, want about %d", st.IDs, tc.wantIDs)
			}
			bytes := int64(after) - int64(before)
			t.Logf("%d ids kept (%d evicted): %.1f MB heap, %.0f bytes/id", st.IDs, st.Evicted, float64(bytes)/1e6, float64(bytes)/float64(st.IDs))
			if per := float64(bytes) / float64(st.IDs); per > 120 {
				t.Fatalf("%.0f bytes per id, want at most 120", per)
			}
		})
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func BenchmarkWindowSeen(b *testing.B) {
	w := New(time.Minute, DefaultMaxIDs)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = oslo.NewID()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Seen(ids[i&(len(ids)-1)], 0)
	}
}
