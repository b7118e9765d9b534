package config

import (
	"encoding/json"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// list returns the strings of a list attribute, each with its own range when
// written as a literal list; ok is false when absent or invalid.
func (b *body) list(name string) ([]item, bool) {
	a, ok := b.attrs[name]
	if !ok {
		return nil, false
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() { // not a literal list: evaluate it whole
		v, _, ok := b.eval(a.Expr, name, cty.List(cty.String))
		if !ok {
			return nil, false
		}
		items := []item{}
		for _, e := range v.AsValueSlice() {
			if e.IsNull() {
				b.errorf(a.Expr.Range(), "Invalid list element", "The elements of %q must not be null.", name)
				return nil, false
			}
			items = append(items, item{e.AsString(), a.Expr.Range()})
		}
		return items, true
	}
	items, valid := []item{}, true
	for _, e := range exprs {
		v, null, ok := b.eval(e, name, cty.String)
		if !ok {
			if null {
				b.errorf(e.Range(), "Invalid list element", "The elements of %q must not be null.", name)
			}
			valid = false
			continue
		}
		items = append(items, item{v.AsString(), e.Range()})
	}
	return items, valid
}

// strMap returns a map(string) attribute.
func (b *body) strMap(name string) (map[string]string, bool) {
	v, ok := b.value(name, cty.Map(cty.String))
	if !ok {
		return nil, false
	}
	m := map[string]string{}
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			b.errorf(b.exprRange(name), "Invalid map element", "The value of %q[%q] must not be null.", name, k)
			return nil, false
		}
		m[k] = e.AsString()
	}
	return m, true
}

// object returns an object attribute as JSON.
func (b *body) object(name string) (json.RawMessage, bool) {
	v, ok := b.value(name, cty.DynamicPseudoType)
	if !ok {
		return nil, false
	}
	if t := v.Type(); !t.IsObjectType() && !t.IsMapType() {
		b.errorf(b.exprRange(name), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: object required, got %s.", name, t.FriendlyName())
		return nil, false
	}
	raw, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		b.errorf(b.exprRange(name), "Invalid value", "The value of %q cannot be written as JSON: %s.", name, err)
		return nil, false
	}
	return raw, true
}

// texts returns a list attribute whose elements must not be empty, reporting
// repeated elements too.
func (b *body) texts(name string) ([]item, bool) {
	items, ok := b.list(name)
	seen := map[string]bool{}
	out := items[:0]
	for _, it := range items {
		switch {
		case it.Value == "":
			b.errorf(it.Range, "Empty value", "The elements of %q must not be empty.", name)
			ok = false
		case seen[it.Value]:
			b.errorf(it.Range, "Duplicate value", "%q appears more than once in %q.", it.Value, name)
			ok = false
		default:
			seen[it.Value] = true
			out = append(out, it)
		}
	}
	return out, ok
}

// values returns the strings of items.
func values(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}
