package host

import (
	"slices"
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

// TestNotApplied: a reload names every changed block it leaves as it runs,
// and none that only moved.
func TestNotApplied(t *testing.T) {
	at := func(line int) config.Source {
		return config.Source{Range: hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: line}}}
	}
	base := func() *config.Config {
		return &config.Config{
			Transport: config.Transport{Source: at(1), URL: "rabbit://h/"},
			Telemetry: &config.Telemetry{Source: at(5), OTLPEndpoint: "otel:4317"},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *config.Config)
		want   []string
	}{
		{"nothing", func(c *config.Config) {}, nil},
		{"moved", func(c *config.Config) { c.Transport.Source = at(9); c.Telemetry.Source = at(20) }, nil},
		{"transport", func(c *config.Config) { c.Transport.URL = "rabbit://other/" }, []string{"transport"}},
		{"telemetry changed", func(c *config.Config) { c.Telemetry.OTLPEndpoint = "otel:4318" }, []string{"telemetry"}},
		{"telemetry removed", func(c *config.Config) { c.Telemetry = nil }, []string{"telemetry"}},
		{"two", func(c *config.Config) { c.Telemetry = nil; c.Transport.URL = "x" }, []string{"telemetry", "transport"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.change(next)
			if got := notApplied(base(), next); !slices.Equal(got, tc.want) {
				t.Fatalf("notApplied = %q, want %q", got, tc.want)
			}
		})
	}
}
