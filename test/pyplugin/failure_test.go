package pyplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestFailureWireParity reads the failures in the replies themselves (with
// the Go client, which keeps them as sent): class, module, message, args,
// kwargs and traceback from a Python plugin are those of a Python oslo
// server with the same endpoint, byte for byte, except the traceback's
// outermost frame, which is the server's own (oslo's RPCServer there, the
// SDK's invoke here), and the JSON's whitespace.
func TestFailureWireParity(t *testing.T) {
	pyTopic := pypeer.UniqueName(t, "pyoslofail")
	hostTopic := pypeer.UniqueName(t, "pyhostfail")
	const factory = "interop_endpoints:endpoints"
	startOsloServer(t, paths.testdata, factory, "{}", pyTopic, "s1")
	runHost(t, pluginBlock("fail", paths.testdata, factory, "", "")+serverBlock("fail", hostTopic, "s1", "fail"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	remote := func(topic, method string, args map[string]any) *client.RemoteError {
		t.Helper()
		err := client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second)).Call(ctx, map[string]any{"request_id": "r1"}, method, args, nil)
		var re *client.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("%s on %s: %v, want a remote error", method, topic, err)
		}
		if len(re.Traceback) < 3 || re.Traceback[0] != "Traceback (most recent call last):\n" {
			t.Fatalf("%s on %s: traceback %q", method, topic, re.Traceback)
		}
		re.Traceback = append(re.Traceback[:1:1], re.Traceback[2:]...)
		// The host writes a failure as compact JSON (as all of oslohost's
		// replies), Python with spaces after separators: the same values.
		for _, raw := range []*json.RawMessage{&re.Args, &re.Kwargs} {
			var b bytes.Buffer
			if err := json.Compact(&b, *raw); err != nil {
				t.Fatalf("%s: %s: %v", method, *raw, err)
			}
			*raw = b.Bytes()
		}
		return re
	}
	for _, tc := range []struct {
		method string
		args   map[string]any
		class  string
	}{
		{"fail_value", map[string]any{"msg": "no"}, "ValueError"},
		{"fail_custom", map[string]any{"msg": "custom", "code": 9}, "WireError"},
		{"fail_key", map[string]any{"key": "k"}, "KeyError"},
		{"fail_expected", nil, "ValueError"},
		{"fail_value", map[string]any{"nope": 1}, "TypeError"},
	} {
		t.Run(tc.method+" "+tc.class, func(t *testing.T) {
			want, got := remote(pyTopic, tc.method, tc.args), remote(hostTopic, tc.method, tc.args)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("failure differs (-oslo server +oslohost):\n%s", d)
			}
			if got.Class != tc.class {
				t.Errorf("class %s, want %s", got.Class, tc.class)
			}
		})
	}
}
