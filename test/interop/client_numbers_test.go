package interop

import (
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestGoClientNumbersReachPythonTyped checks, against the real Python
// server, that the Go client's numbers arrive with Python's types: a
// float64 1.0 as a float (it used to go as 1, an int), an integer type as
// an int with every digit, a *big.Int as an int. The server's echo returns
// what it received, json.dumps'd by oslo: Python writes a float with a
// point or an exponent and an int without, so the raw reply says which
// type Python held. The request context goes the same way.
func TestGoClientNumbersReachPythonTyped(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "go2pynum")
	pypeer.StartServer(t, pypeer.ServerOptions{Topic: topic, Server: "pynum1"})
	c := client.New(dialClient(t, ""), oslo.Target{Topic: topic}, client.Timeout(20*time.Second))

	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	type args struct {
		F   float64  `json:"f"`
		F32 float32  `json:"f32"`
		I   int      `json:"i"`
		I64 int64    `json:"i64"`
		Big *big.Int `json:"big"`
		E   float64  `json:"e"`
	}
	in := args{F: 1.0, F32: 2, I: 1, I64: 1<<53 + 1, Big: huge, E: 1e16}
	want := map[string]string{
		"f": "1.0", "f32": "2.0", "i": "1", "i64": "9007199254740993",
		"big": "123456789012345678901234567890", "e": "1e+16",
	}
	var got struct {
		Kwargs map[string]json.RawMessage `json:"kwargs"`
		Ctxt   map[string]json.RawMessage `json:"ctxt_seen"`
	}
	reqCtx := map[string]any{"request_id": "req-num", "f": 3.0, "i": 3}
	if err := c.Call(bg(t, time.Minute), reqCtx, "echo", in, &got); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if g := string(got.Kwargs[k]); g != w {
			t.Errorf("argument %s: Python held %s, want %s", k, g, w)
		}
	}
	if g := string(got.Ctxt["f"]); g != "3.0" {
		t.Errorf("context f: Python held %s, want 3.0", g)
	}
	if g := string(got.Ctxt["i"]); g != "3" {
		t.Errorf("context i: Python held %s, want 3", g)
	}
}
