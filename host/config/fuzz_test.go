package config

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// FuzzLoadBytes checks that no input makes loading panic, that every
// diagnostic has a severity and summary, and that a loaded config marshals.
func FuzzLoadBytes(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.txtar")
	for _, path := range paths {
		var src []byte
		for _, file := range readGolden(f, path).files {
			src = append(src, file.src...)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l := &Loader{
			LookupEnv: func(string) (string, bool) { return "", false },
			Hostname:  func() (string, error) { return "fuzz", nil },
		}
		cfg, diags := l.LoadBytes("fuzz.hcl", src)
		for _, d := range diags {
			if d.Summary == "" {
				t.Errorf("diagnostic without summary: %#v", d)
			}
			_ = FormatDiagnostic(d)
		}
		if diags.HasErrors() != (cfg == nil) {
			t.Fatalf("config %v with diagnostics %s", cfg, diags)
		}
		if cfg != nil {
			if _, err := json.Marshal(cfg.Redacted()); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		}
	})
}
