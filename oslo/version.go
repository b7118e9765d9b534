package oslo

import (
	"strconv"
	"strings"
)

// Compatible reports whether a request for version want can be served by an
// implementation (or allowed by a cap) of version have, by oslo's rule
// (oslo_messaging/_utils.py version_is_compatible):
//
//   - have "" (no version) is compatible with anything; want "" is not
//     compatible with any have;
//   - majors must be equal; want's minor must not exceed have's; with equal
//     minors, want's revision (third part, 0 when absent) must not exceed have's.
//
// A part that is not an integer, or a missing minor part, is an error when
// the comparison reaches it, exactly as in Python (ValueError and IndexError
// there; "2" against "1.0" is simply incompatible, the majors differing
// first); the error is a *Failure carrying the Python class a Python server
// would report.
func Compatible(have, want string) (bool, error) {
	if have == "" {
		return true, nil
	}
	if want == "" {
		return false, nil
	}
	// Parts are read in Python's order, each only when the comparison
	// needs it, so the same inputs fail (or not) as they do in Python.
	w, h := strings.Split(want, "."), strings.Split(have, ".")
	wMajor, hMajor, err := versionParts(w, h, 0)
	if err != nil || wMajor != hMajor {
		return false, err
	}
	wMinor, hMinor, err := versionParts(w, h, 1)
	if err != nil || wMinor != hMinor {
		return err == nil && wMinor < hMinor, err
	}
	var wRev, hRev int64 // a missing revision is 0
	if len(w) > 2 {
		if wRev, err = versionPart(w, 2); err != nil {
			return false, err
		}
	}
	if len(h) > 2 {
		if hRev, err = versionPart(h, 2); err != nil {
			return false, err
		}
	}
	return wRev <= hRev, nil
}

// versionParts reads part i of want's parts, then of have's, as Python
// does.
func versionParts(w, h []string, i int) (int64, int64, error) {
	wp, err := versionPart(w, i)
	if err != nil {
		return 0, 0, err
	}
	hp, err := versionPart(h, i)
	return wp, hp, err
}

// versionPart reads parts[i] as Python's int() would (surrounding white
// space allowed, an optional sign); a missing part is Python's IndexError.
func versionPart(parts []string, i int) (int64, error) {
	if i >= len(parts) {
		return 0, BuiltinError("IndexError", "list index out of range")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(parts[i]), 10, 64)
	if err != nil {
		return 0, BuiltinError("ValueError", "invalid literal for int() with base 10: "+pyRepr(parts[i]))
	}
	return n, nil
}

// pyRepr quotes s the way Python's repr() does for simple strings.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
