// Package pyjson is the JSON of the oslo wire, written as a Python peer
// writes it and read without reflection, in one place for package oslo,
// the plugin SDK and the Go client:
//
//   - AppendString, the one string escaper (no HTML escaping);
//   - Marshal, encoding/json's rules with floats as Python's json.dumps
//     writes them (1.0, 1e+16), so that a Go float64 reaches Python as a
//     float and an integer type as an int, every digit kept;
//   - Fields, encoding/json's struct-field discovery, which the SDK also
//     uses to bind keyword arguments;
//   - a scanner over validated JSON (EachMember, SkipValue, Unquote…).
//
// It is pure: no I/O, no logging, no dependency inside the module.
package pyjson
