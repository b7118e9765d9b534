package host

import (
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/host/config"
)

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
