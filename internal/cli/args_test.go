package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		name    string
		words   []string
		want    string // the object as compact JSON
		wantErr string
	}{
		{name: "none", words: nil, want: `{}`},
		{name: "integer", words: []string{"a=1"}, want: `{"a":1}`},
		{name: "float and negative", words: []string{"a=-1.5e3"}, want: `{"a":-1.5e3}`},
		{name: "big integer kept exact", words: []string{"n=12345678901234567890"}, want: `{"n":12345678901234567890}`},
		{name: "booleans and null", words: []string{"t=true", "f=false", "n=null"}, want: `{"f":false,"n":null,"t":true}`},
		{name: "plain string", words: []string{"name=bob"}, want: `{"name":"bob"}`},
		{name: "quoted string stays a string", words: []string{`s="42"`}, want: `{"s":"42"}`},
		{name: "object", words: []string{`o={"k": [1, 2]}`}, want: `{"o":{"k":[1,2]}}`},
		{name: "array", words: []string{`l=[1,"x",null]`}, want: `{"l":[1,"x",null]}`},
		{name: "empty value is an empty string", words: []string{"e="}, want: `{"e":""}`},
		{name: "blank value is kept as a string", words: []string{"e=  "}, want: `{"e":"  "}`},
		{name: "only the first = splits", words: []string{"q=a=b"}, want: `{"q":"a=b"}`},
		{name: "invalid JSON is a string", words: []string{"x={nope", "y=True", "z=NaN"}, want: `{"x":"{nope","y":"True","z":"NaN"}`},
		{name: "JSON with spaces around", words: []string{"x= 7 "}, want: `{"x":7}`},
		{name: "unicode", words: []string{"s=héllo"}, want: `{"s":"héllo"}`},
		{name: "key with dots and dashes", words: []string{"a.b-c=1"}, want: `{"a.b-c":1}`},
		{name: "no equals", words: []string{"novalue"}, wantErr: `argument "novalue" is not key=value`},
		{name: "empty key", words: []string{"=1"}, wantErr: `argument "=1" has an empty key`},
		{name: "duplicate key", words: []string{"a=1", "a=2"}, wantErr: `key "a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKeyValues(tt.words, "argument")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}
