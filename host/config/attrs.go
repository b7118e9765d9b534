package config

import (
	"fmt"
	"math/big"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// body decodes the attributes of one block, appending every problem to diags.
type body struct {
	block *hcl.Block
	attrs hcl.Attributes
	ctx   *hcl.EvalContext
	diags *hcl.Diagnostics
}

// item is one string from a list attribute, with its own range.
type item struct {
	Value string
	Range hcl.Range
}

// source returns the block's Source.
func (b *body) source() Source {
	s := Source{Range: b.block.DefRange, Attrs: map[string]hcl.Range{}}
	for name, a := range b.attrs {
		s.Attrs[name] = a.Range
	}
	return s
}

// errorf adds an error at rng.
func (b *body) errorf(rng hcl.Range, summary, format string, args ...any) {
	*b.diags = append(*b.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// exprRange returns the range of the named attribute's value, or the block's.
func (b *body) exprRange(name string) hcl.Range {
	if a, ok := b.attrs[name]; ok {
		return a.Expr.Range()
	}
	return b.block.DefRange
}

// required reports each named attribute that is missing.
func (b *body) required(names ...string) {
	for _, n := range names {
		if _, ok := b.attrs[n]; !ok {
			b.errorf(b.block.DefRange, "Missing required argument",
				"The argument %q is required in a %s block, but no definition was found.", n, b.block.Type)
		}
	}
}

// value evaluates the named attribute converted to ty; ok is false when it
// is absent, null or invalid (the latter reported).
func (b *body) value(name string, ty cty.Type) (cty.Value, bool) {
	a, ok := b.attrs[name]
	if !ok {
		return cty.NilVal, false
	}
	v, _, ok := b.eval(a.Expr, name, ty)
	return v, ok
}

// eval evaluates expr converted to ty; null reports a null value, which is
// not an error here but leaves ok false.
func (b *body) eval(expr hcl.Expression, name string, ty cty.Type) (v cty.Value, null, ok bool) {
	v, diags := expr.Value(b.ctx)
	*b.diags = append(*b.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false, false
	}
	if v.IsNull() {
		return cty.NilVal, true, false
	}
	if ty != cty.DynamicPseudoType {
		var err error
		if v, err = convert.Convert(v, ty); err != nil {
			b.errorf(expr.Range(), "Incorrect attribute value type",
				"Inappropriate value for attribute %q: %s.", name, err)
			return cty.NilVal, false, false
		}
	}
	if !v.IsWhollyKnown() {
		b.errorf(expr.Range(), "Unknown value", "The value of %q cannot be known.", name)
		return cty.NilVal, false, false
	}
	return v, false, true
}

// str sets *dst from a string attribute and reports whether it was set.
func (b *body) str(name string, dst *string) bool {
	v, ok := b.value(name, cty.String)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

// boolean sets *dst from a bool attribute.
func (b *body) boolean(name string, dst *bool) bool {
	v, ok := b.value(name, cty.Bool)
	if ok {
		*dst = v.True()
	}
	return ok
}

// integer sets *dst from a whole-number attribute of at least min.
func (b *body) integer(name string, dst *int, min int) bool {
	v, ok := b.value(name, cty.Number)
	if !ok {
		return false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact || int64(int(i)) != i {
		b.errorf(b.exprRange(name), "Invalid number", "The value of %q must be a whole number, got %s.", name, bf.Text('g', -1))
		return false
	}
	if n := int(i); n < min {
		b.errorf(b.exprRange(name), "Invalid number", "The value of %q must be at least %d, got %d.", name, min, i)
		return false
	}
	*dst = int(i)
	return true
}

// duration sets *dst from a non-negative duration string such as "30s".
func (b *body) duration(name string, dst *Duration) bool {
	var s string
	if !b.str(name, &s) {
		return false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		b.errorf(b.exprRange(name), "Invalid duration",
			"The value of %q must be a duration such as \"30s\" or \"1m30s\": %s.", name, err)
		return false
	}
	if d < 0 {
		b.errorf(b.exprRange(name), "Invalid duration", "The value of %q must not be negative, got %q.", name, s)
		return false
	}
	*dst = Duration(d)
	return true
}

// oneOf sets *dst from a string attribute that must be one of allowed.
func (b *body) oneOf(name string, dst *string, allowed ...string) bool {
	var s string
	if !b.str(name, &s) {
		return false
	}
	for _, a := range allowed {
		if s == a {
			*dst = s
			return true
		}
	}
	b.errorf(b.exprRange(name), "Invalid value", "The value of %q must be one of %s, got %q.", name, quoteList(allowed), s)
	return false
}

// quoteList formats names as "a", "b" or "c".
func quoteList(names []string) string {
	s := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprintf("%q", n)
	}
	return s
}

// text sets *dst from a string attribute that must not be empty.
func (b *body) text(name string, dst *string) bool {
	var s string
	if !b.str(name, &s) {
		return false
	}
	if s == "" {
		b.errorf(b.exprRange(name), "Empty value", "The value of %q must not be empty.", name)
		return false
	}
	*dst = s
	return true
}
