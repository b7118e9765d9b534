package config

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Loader loads configurations. The zero value uses the process environment
// and hostname. A Loader is not safe for concurrent use; each Load starts
// afresh, so one Loader may be reused for reloads.
type Loader struct {
	// LookupEnv backs env(); os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Hostname gives a server block's default "server"; os.Hostname when nil.
	Hostname func() (string, error)

	parser *hclparse.Parser
}

// Load loads paths with a zero Loader; see [Loader.Load]. It is safe for
// concurrent use. On failure the parsed files are lost: use a Loader and its
// Files to print diagnostics with source snippets.
func Load(paths ...string) (*Config, hcl.Diagnostics) {
	return new(Loader).Load(paths...)
}

// LoadBytes loads one in-memory file with a zero Loader; see [Loader.LoadBytes].
// It is safe for concurrent use.
func LoadBytes(name string, src []byte) (*Config, hcl.Diagnostics) {
	return new(Loader).LoadBytes(name, src)
}

// Files returns the files parsed by the last load, by name, for
// WriteDiagnostics; it is filled even when the load failed.
func (l *Loader) Files() map[string]*hcl.File {
	if l.parser == nil {
		return nil
	}
	return l.parser.Files()
}

// Load reads, merges and validates the configuration at paths: each is a
// file or a directory whose *.hcl files are read in name order. It returns
// every diagnostic found; the Config is nil when any is an error.
func (l *Loader) Load(paths ...string) (*Config, hcl.Diagnostics) {
	l.parser = hclparse.NewParser()
	names, diags := expand(paths)
	var files []*hcl.File
	for _, name := range names {
		f, fdiags := l.parser.ParseHCLFile(name)
		diags = append(diags, fdiags...)
		if f != nil {
			files = append(files, f)
		}
	}
	if diags.HasErrors() {
		return nil, sortDiagnostics(diags)
	}
	return l.decode(files)
}

// LoadBytes is Load for one file held in memory under name.
func (l *Loader) LoadBytes(name string, src []byte) (*Config, hcl.Diagnostics) {
	l.parser = hclparse.NewParser()
	f, diags := l.parser.ParseHCL(src, name)
	if diags.HasErrors() {
		return nil, sortDiagnostics(diags)
	}
	return l.decode([]*hcl.File{f})
}

// expand turns paths into the files to read, without repeats.
func expand(paths []string) ([]string, hcl.Diagnostics) {
	var names []string
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	add := func(name string) {
		if clean := filepath.Clean(name); !seen[clean] {
			seen[clean] = true
			names = append(names, name)
		}
	}
	if len(paths) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files",
			Detail: "Give at least one configuration file or directory."})
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to read configuration",
				Detail: err.Error() + "."})
			continue
		}
		if !info.IsDir() {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to read configuration",
				Detail: err.Error() + "."})
			continue
		}
		n := len(names)
		for _, e := range entries { // sorted by name
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".hcl") {
				add(filepath.Join(p, e.Name()))
			}
		}
		if len(names) == n && !seen[filepath.Clean(p)] {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files",
				Detail: "Directory " + p + " holds no *.hcl file."})
		}
	}
	return names, diags
}

// decode merges parsed files into a Config.
func (l *Loader) decode(files []*hcl.File) (*Config, hcl.Diagnostics) {
	lookupEnv, hostname := l.LookupEnv, l.Hostname
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if hostname == nil {
		hostname = os.Hostname
	}
	d := newDecoder(evalContext(lookupEnv))
	for _, f := range files {
		d.file(f)
	}
	var start hcl.Range // where file-level problems are reported: the first file's start
	if len(files) > 0 {
		start = files[0].Body.MissingItemRange()
	}
	_, hasTransport := d.seen["transport"]
	d.finish(start, hasTransport, hostname)
	diags := sortDiagnostics(d.diags)
	if diags.HasErrors() {
		return nil, diags
	}
	d.cfg.Files = l.parser.Files()
	return d.cfg, diags
}
