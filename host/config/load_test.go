package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secretConfig = `
transport { url = "rabbit://nova:s3cret@h1:5672,nova:s3cret@h2/vh" }
admin { token = "t0ken" }
plugin "p" {
  command = "p"
  env     = { DB = "postgres://u:pw@db" }
}
server "s" {
  topic   = "t"
  server  = "h"
  plugins = ["p"]
}
telemetry {
  otlp_endpoint        = "collector:4317"
  osprofiler_hmac_keys = ["hm4c"]
}
`

func mustLoadBytes(t *testing.T, src string) *Config {
	t.Helper()
	cfg, diags := LoadBytes("test.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %s", diags)
	}
	return cfg
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"rabbit://guest:guest@localhost:5672/", "rabbit://guest:***@localhost:5672/"},
		{"rabbit://u:p@h1,u:q@h2:5672/vh?x=1", "rabbit://u:***@h1,u:***@h2:5672/vh?x=1"},
		{"rabbit://u:p@ss@h1/", "rabbit://u:***@h1/"},
		{"rabbit://user@h1/", "rabbit://user@h1/"},
		{"rabbit://h1,h2", "rabbit://h1,h2"},
		{"rabbit://u:p@h1/path@x", "rabbit://u:***@h1/path@x"},
		{"not a url", "not a url"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestJSONHidesSecrets(t *testing.T) {
	cfg := mustLoadBytes(t, secretConfig)
	for name, v := range map[string]any{"config": cfg, "redacted": cfg.Redacted()} {
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"s3cret", "t0ken", "u:pw", "hm4c"} {
			if strings.Contains(string(out), secret) {
				t.Errorf("%s: JSON shows %q: %s", name, secret, out)
			}
		}
	}
	if cfg.Transport.URL != "rabbit://nova:s3cret@h1:5672,nova:s3cret@h2/vh" || cfg.Admin.Token != "t0ken" ||
		cfg.Plugins[0].Env["DB"] != "postgres://u:pw@db" || cfg.Telemetry.OsprofilerHMACKeys[0] != "hm4c" {
		t.Errorf("the config itself must keep its secrets: %+v", cfg)
	}
	r := cfg.Redacted()
	if r.Transport.URL != "rabbit://nova:***@h1:5672,nova:***@h2/vh" || r.Admin.Token != "***" || r.Plugins[0].Env["DB"] != "***" ||
		r.Telemetry.OsprofilerHMACKeys[0] != "***" {
		t.Errorf("Redacted() = %+v", r)
	}
}

func TestSourceRanges(t *testing.T) {
	cfg := mustLoadBytes(t, secretConfig)
	p := cfg.Plugin("p")
	if p == nil {
		t.Fatal("plugin p missing")
	}
	if got := p.Range.String(); got != "test.hcl:4,1-11" {
		t.Errorf("plugin range = %s", got)
	}
	if got := p.AttrRange("command").String(); got != "test.hcl:5,3-16" {
		t.Errorf("command range = %s", got)
	}
	if got := p.AttrRange("sha256"); got != p.Range {
		t.Errorf("absent attribute range = %s, want the block's", got)
	}
	if e := cfg.Executor(DefaultExecutor); e == nil || !e.Implicit || e.Range.Filename != "" {
		t.Errorf("implicit default executor = %+v", e)
	}
	if cfg.Files["test.hcl"] == nil {
		t.Errorf("Files lacks test.hcl")
	}
}

func TestWriteDiagnostics(t *testing.T) {
	l := new(Loader)
	cfg, diags := l.LoadBytes("bad.hcl", []byte("transport {\n  url = \"rabbit://h/\"\n  heartbeat = \"soon\"\n}\n"))
	if cfg != nil || !diags.HasErrors() {
		t.Fatalf("want errors, got %v %v", cfg, diags)
	}
	var b strings.Builder
	if err := WriteDiagnostics(&b, l.Files(), diags, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Error: Invalid duration", "on bad.hcl line 3, in transport:", `heartbeat = "soon"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestLoaderHooks(t *testing.T) {
	src := []byte(`
transport { url = env("URL") }
plugin "p" { command = "p" }
server "s" {
  topic   = "t"
  plugins = ["p"]
}
`)
	l := &Loader{
		LookupEnv: func(k string) (string, bool) { return map[string]string{"URL": "rabbit://x/"}[k], k == "URL" },
		Hostname:  func() (string, error) { return "", errors.New("no hostname") },
	}
	_, diags := l.LoadBytes("c.hcl", src)
	if len(diags) != 1 || diags[0].Summary != "Cannot determine the server name" {
		t.Fatalf("diags = %s", diags)
	}
	l.Hostname = func() (string, error) { return "h", nil }
	cfg, diags := l.LoadBytes("c.hcl", src) // a Loader may be reused
	if diags.HasErrors() || cfg.Transport.URL != "rabbit://x/" || cfg.Servers[0].Server != "h" {
		t.Fatalf("cfg = %+v, diags = %s", cfg, diags)
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.hcl")
	if err := os.WriteFile(file, []byte(`transport { url = "rabbit://h/" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		paths   []string
		summary string
	}{
		{"none", nil, "No configuration files"},
		{"missing", []string{filepath.Join(dir, "nope.hcl")}, "Failed to read configuration"},
		{"file", []string{file}, "Nothing to serve"},
		{"dir and file", []string{dir, file}, "Nothing to serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Load(tc.paths...)
			if len(diags) != 1 || diags[0].Summary != tc.summary {
				t.Errorf("Load(%q) diags = %s, want one %q", tc.paths, diags, tc.summary)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	d := Duration(90 * time.Second)
	out, err := json.Marshal(d)
	if err != nil || string(out) != `"1m30s"` {
		t.Fatalf("Marshal = %s, %v", out, err)
	}
	var back Duration
	if err := json.Unmarshal(out, &back); err != nil || back != d || back.Duration() != 90*time.Second {
		t.Fatalf("Unmarshal = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`"soon"`), &back); err == nil {
		t.Fatal("Unmarshal accepted a bad duration")
	}
}
