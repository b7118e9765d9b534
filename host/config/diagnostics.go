package config

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics writes diags for a person, with source snippets taken from
// files (Config.Files or Loader.Files; nil prints no snippets), in color when
// asked.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	return hcl.NewDiagnosticTextWriter(w, files, 78, color).WriteDiagnostics(diags)
}

// FormatDiagnostic renders d on one line, for logs and tests:
// "file:line,col-line,col: error: summary; detail".
func FormatDiagnostic(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	s := sev + ": " + d.Summary
	if d.Detail != "" {
		s += "; " + d.Detail
	}
	if d.Subject != nil {
		s = fmt.Sprintf("%s: %s", d.Subject, s)
	}
	return s
}

// sortDiagnostics orders diags by file and position, keeping the order of
// those at the same place.
func sortDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		if a.Subject == nil || b.Subject == nil {
			switch {
			case a.Subject != nil:
				return 1
			case b.Subject != nil:
				return -1
			}
			return 0
		}
		return cmp.Or(cmp.Compare(a.Subject.Filename, b.Subject.Filename),
			cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte))
	})
	return diags
}
