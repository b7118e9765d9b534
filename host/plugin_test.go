package host

import (
	"strings"
	"testing"
)

func TestStderrTail(t *testing.T) {
	long := strings.Repeat("x", stderrTailSize)
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"nothing", nil, ""},
		{"short lines, trimmed", []string{"a\n", "b\n\n"}, "a\nb"},
		{"only the last bytes", []string{"head\n", long, "\ntail\n"}, long[len("head\n\n"):] + "\ntail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s stderrTail
			for _, w := range tt.writes {
				if n, err := s.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := s.String(); got != tt.want {
				t.Errorf("String() = %.40q… (%d bytes), want %.40q… (%d bytes)", got, len(got), tt.want, len(tt.want))
			}
		})
	}
}
