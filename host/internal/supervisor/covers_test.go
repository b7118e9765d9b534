package supervisor

import (
	"testing"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

func desc(eps ...*pluginv1.EndpointInfo) *pluginv1.DescribeResponse {
	return &pluginv1.DescribeResponse{Endpoints: eps}
}

func ep(ns, v string, methods ...string) *pluginv1.EndpointInfo {
	return &pluginv1.EndpointInfo{Namespace: ns, Version: v, Methods: methods}
}

// TestCovers: a binary swap must keep serving what the old generation did.
func TestCovers(t *testing.T) {
	prev := desc(ep("", "1.3", "add", "sub"), ep("admin", "2.1", "reset"))
	tests := []struct {
		name string
		next *pluginv1.DescribeResponse
		ok   bool
	}{
		{"same", desc(ep("", "1.3", "add", "sub"), ep("admin", "2.1", "reset")), true},
		{"newer minor and more methods", desc(ep("", "1.4", "add", "sub", "mul"), ep("admin", "2.2", "reset")), true},
		{"lower minor", desc(ep("", "1.2", "add", "sub"), ep("admin", "2.1", "reset")), false},
		{"new major", desc(ep("", "2.0", "add", "sub"), ep("admin", "2.1", "reset")), false},
		{"method gone", desc(ep("", "1.3", "add"), ep("admin", "2.1", "reset")), false},
		{"endpoint gone", desc(ep("", "1.3", "add", "sub")), false},
		{"namespace renamed", desc(ep("", "1.3", "add", "sub"), ep("adm", "2.1", "reset")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := covers(tt.next, prev); (err == nil) != tt.ok {
				t.Fatalf("covers = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestBackoffGrows(t *testing.T) {
	prev := backoff(0)
	if prev < restartBackoffMin*8/10 || prev > restartBackoffMin*12/10 {
		t.Fatalf("first restart delay %v", prev)
	}
	if d := backoff(40); d > restartBackoffMax*12/10 || d < restartBackoffMax*8/10 {
		t.Fatalf("capped delay %v", d)
	}
}
