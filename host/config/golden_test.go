package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txtar")

// golden is one testdata file:
//
//	# comment lines; "# env: NAME=value" sets a variable, "# load: a b" the paths to load
//	-- name.hcl --            (optional when there is one file, named config.hcl)
//	…HCL…
//	----
//	…expected diagnostics, one per line, then the normalized JSON if valid…
type golden struct {
	env   map[string]string
	load  []string
	files []goldenFile
	head  string // everything before the separator, verbatim
	want  string
}

type goldenFile struct {
	name string
	src  []byte
}

const separator = "----\n"

func readGolden(t testing.TB, path string) golden {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, want, ok := strings.Cut(string(raw), "\n"+separator)
	if !ok {
		t.Fatalf("%s: no %q separator line", path, strings.TrimSpace(separator))
	}
	g := golden{env: map[string]string{}, head: head + "\n", want: want}
	lines := strings.SplitAfter(g.head, "\n")
	for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		line := strings.TrimSpace(lines[0])
		if v, ok := strings.CutPrefix(line, "# env: "); ok {
			k, val, _ := strings.Cut(v, "=")
			g.env[k] = val
		}
		if v, ok := strings.CutPrefix(line, "# load: "); ok {
			g.load = strings.Fields(v)
		}
		lines = lines[1:]
	}
	for _, line := range lines {
		if name, ok := fileMarker(line); ok {
			g.files = append(g.files, goldenFile{name: name})
			continue
		}
		if len(g.files) == 0 {
			g.files = append(g.files, goldenFile{name: "config.hcl"})
		}
		f := &g.files[len(g.files)-1]
		f.src = append(f.src, line...)
	}
	return g
}

// fileMarker recognizes a "-- name --" line.
func fileMarker(line string) (string, bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < 7 {
		return "", false
	}
	return strings.TrimSpace(line[3 : len(line)-3]), true
}

// render is what a golden file expects: diagnostics, then the config as JSON.
func render(t testing.TB, cfg *Config, diags []string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d + "\n")
	}
	if cfg != nil {
		out, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
		b.WriteString("\n")
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range paths {
		abs, _ := filepath.Abs(path)
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			g := readGolden(t, abs)
			for k, v := range g.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			t.Chdir(dir)
			for _, f := range g.files {
				if err := os.MkdirAll(filepath.Dir(f.name), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f.name, f.src, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			load := g.load
			if load == nil {
				load = []string{"."}
			}
			l := &Loader{Hostname: func() (string, error) { return "testhost", nil }}
			cfg, diags := l.Load(load...)
			var lines []string
			for _, d := range diags {
				lines = append(lines, strings.ReplaceAll(FormatDiagnostic(d), dir+string(filepath.Separator), ""))
			}
			got := render(t, cfg, lines)
			if *update {
				if err := os.WriteFile(abs, []byte(g.head+separator+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != g.want {
				t.Errorf("%s: output differs (run go test -update)\n--- got\n%s--- want\n%s", path, got, g.want)
			}
		})
	}
}
