package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// evalContext is what expressions may use: functions only, no variables.
func evalContext(lookupEnv func(string) (string, bool)) *hcl.EvalContext {
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env":    envFunc(lookupEnv),
			"format": stdlib.FormatFunc,
			"join":   stdlib.JoinFunc,
			"lower":  stdlib.LowerFunc,
			"upper":  stdlib.UpperFunc,
		},
	}
}

// envFunc is env(NAME[, FALLBACK]): the variable's value, or FALLBACK (default
// "") when it is unset or empty.
func envFunc(lookupEnv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the fallback when unset or empty.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "fallback", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one fallback")
			}
			if v, ok := lookupEnv(args[0].AsString()); ok && v != "" {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.StringVal(""), nil
		},
	})
}
