package dedup

import (
	"fmt"
	"testing"
)

func TestWindow(t *testing.T) {
	w := New(16)
	if w.Seen("") || w.Seen("") || w.Contains("") {
		t.Fatal("the empty id is never a duplicate")
	}
	for i := 0; i < 16; i++ {
		if w.Seen(fmt.Sprint(i)) {
			t.Fatalf("first sight of %d reported as duplicate", i)
		}
	}
	if !w.Seen("0") || !w.Contains("15") {
		t.Fatal("ids in the window not reported")
	}
	w.Add("16") // pushes "0" out
	if w.Contains("0") || w.Seen("0") {
		t.Fatal("an id older than the window is still remembered")
	}
}
