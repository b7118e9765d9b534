package host

import (
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/host/config"
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

// TestSameBlock: reload compares blocks by content, not by position.
func TestSameBlock(t *testing.T) {
	at := func(line int) config.Source {
		return config.Source{Range: hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: line}}}
	}
	a := config.Plugin{Source: at(1), Name: "p", Command: "./p", Env: map[string]string{"K": "1"}}
	b := a
	b.Source = at(9)
	if !sameBlock(a, b) {
		t.Fatal("a block that only moved counts as changed")
	}
	c := a
	c.Env = map[string]string{"K": "2"}
	if sameBlock(a, c) {
		t.Fatal("a changed env is not noticed")
	}
	s1 := config.Transport{Source: at(1), URL: "rabbit://h/", TLS: &config.TLS{Source: at(2), CAFile: "ca"}}
	s2 := s1
	s2.TLS = &config.TLS{Source: at(7), CAFile: "ca"}
	if !sameBlock(s1, s2) {
		t.Fatal("nested block positions count")
	}
	if s1.TLS.Source.Range.Start.Line != 2 {
		t.Fatal("sameBlock modified its argument")
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
