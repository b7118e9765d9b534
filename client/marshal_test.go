package client

import (
	"math/big"
	"testing"
)

// TestMarshalLikePython checks arguments and contexts go out with numbers as
// a Python caller writes them: a float64 1.0 stays a float.
func TestMarshalLikePython(t *testing.T) {
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `{}`},
		{"float one", map[string]any{"x": 1.0}, `{"x":1.0}`},
		{"float", map[string]any{"x": 2.5}, `{"x":2.5}`},
		{"int64 all digits", map[string]any{"x": int64(9007199254740993)}, `{"x":9007199254740993}`},
		{"big int", map[string]any{"x": big1}, `{"x":123456789012345678901234567890}`},
		{"struct", struct {
			A float32 `json:"a"`
		}{1}, `{"a":1.0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshalObject(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("marshalObject = %s, want %s", got, tt.want)
			}
		})
	}
	c, err := toContext(map[string]any{"ratio": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c["ratio"]); got != "1.0" {
		t.Errorf("context ratio = %s, want 1.0", got)
	}
}
