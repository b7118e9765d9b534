package oslo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// The Python cross-checks run testdata/pycheck.py with an interpreter that
// can import oslo_messaging (Debian's python3-oslo.messaging; OSLO_PYTHON
// overrides /usr/bin/python3). Without one they are skipped, except in CI
// (CI=true), where that is a failure.

const pythonTimeout = 2 * time.Minute

var pythonProbe = sync.OnceValues(func() (string, error) {
	py := os.Getenv("OSLO_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import oslo_messaging, kombu").CombinedOutput()
	if err != nil {
		return "", errors.New(py + " cannot import oslo_messaging: " + err.Error() + ": " + strings.TrimSpace(string(out)))
	}
	return py, nil
})

func needPython(t *testing.T) string {
	t.Helper()
	py, err := pythonProbe()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python cross-check required in CI: %v", err)
		}
		t.Skipf("python cross-check skipped: %v", err)
	}
	return py
}

// runPython sends in (with its mode) to testdata/pycheck.py and decodes its
// answer into out.
func runPython(t *testing.T, mode string, in map[string]any, out any) {
	t.Helper()
	py := needPython(t)
	req := map[string]any{"mode": mode}
	for k, v := range in {
		req[k] = v
	}
	input, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), pythonTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/pycheck.py")
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pycheck.py %s: %v\n%s", mode, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("pycheck.py %s output: %v\n%s", mode, err, stdout.String())
	}
}

// pyException is how pycheck.py describes an exception a Python caller got.
type pyException struct {
	Module    string         `json:"module"`
	Class     string         `json:"class"`
	MRO       []string       `json:"mro"`
	Str       string         `json:"str"`
	Args      []any          `json:"args"`
	ExcType   *string        `json:"exc_type"`
	Value     *string        `json:"value"`
	Traceback []string       `json:"traceback"`
	Kwargs    map[string]any `json:"kwargs"`
}

type pyReply struct {
	MsgID   *string         `json:"msg_id"`
	Result  json.RawMessage `json:"result"`
	Failure *pyException    `json:"failure"`
	Ending  bool            `json:"ending"`
}

type pyRequest struct {
	Method    *string         `json:"method"`
	Args      json.RawMessage `json:"args"`
	Namespace *string         `json:"namespace"`
	Version   string          `json:"version"`
	MsgID     *string         `json:"msg_id"`
	ReplyQ    *string         `json:"reply_q"`
	UniqueID  *string         `json:"unique_id"`
	Ctxt      json.RawMessage `json:"ctxt"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TestPythonReadsOurMessages feeds bodies encoded by this package to Python's
// own decoding path and checks Python reads what was meant.
func TestPythonReadsOurMessages(t *testing.T) {
	needPython(t)

	// Requests: every golden request re-encoded, plus awkward ones.
	var requests []*Request
	for _, m := range loadGolden(t) {
		if goldenKind(m.Name) != "request" {
			continue
		}
		r, err := DecodeRequest([]byte(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		requests = append(requests, r)
	}
	requests = append(requests,
		&Request{
			Method: "méthode_☃", Args: json.RawMessage(`{"s": "a\u2028b \"q\" \\ \n", "e": "👍🏽", "n": [1, 2.5e3, null]}`),
			Namespace: "ns1", Version: "1.3.2", MsgID: NewID(), ReplyQ: "reply_a:b", UniqueID: NewID(),
			Timeout: json.RawMessage("30"),
			Context: Context{"user_id": json.RawMessage(`"ü"`), "roles": json.RawMessage(`["a","b"]`), "deep": json.RawMessage(`{"x":{"y":[true]}}`)},
		},
		&Request{Method: "cast_only", UniqueID: NewID(), Timeout: json.RawMessage("9")},
		&Request{Method: "bare", MsgID: "m", ReplyQ: "q"},
	)
	var reqBodies [][]byte
	for _, r := range requests {
		reqBodies = append(reqBodies, r.Encode())
	}

	// Replies, each with the allowed_remote_exmods of the reading client.
	type replyCase struct {
		reply   *Reply
		allowed []string
		check   func(t *testing.T, got pyReply)
	}
	valueErr := BuiltinError("ValueError", "bad value: v1")
	keyErr := &Failure{Class: "KeyError", Module: ModuleBuiltins, Message: "'missing'",
		Args: json.RawMessage(`["missing"]`), Traceback: []string{"Traceback (most recent call last):\n", "KeyError: 'missing'\n"}}
	custom := NewFailure("wire_exc", "WireError", "custom failure")
	custom.Kwargs = json.RawMessage(`{"code": 42, "detail": "xyz"}`)
	noSuch := NoSuchMethod("does_not_exist")
	unsupported := UnsupportedVersion("1.4", "vmeth")
	unicodeErr := BuiltinError("RuntimeError", "ünïcødé ☃ \"q\" \\ \u2028 \x01")
	remoteMessage := func(f *Failure) string { return f.Message + "\n" + strings.Join(f.Traceback, "\n") }
	wantRemoteError := func(f *Failure) func(*testing.T, pyReply) {
		return func(t *testing.T, got pyReply) {
			e := got.Failure
			if e == nil || e.Class != "RemoteError" || e.ExcType == nil || *e.ExcType != f.Class ||
				e.Value == nil || *e.Value != f.Message || !cmp.Equal(e.Traceback, f.Traceback) {
				t.Errorf("python got %+v, want RemoteError(%s, %q)", e, f.Class, f.Message)
			}
		}
	}
	wantBuiltin := func(f *Failure) func(*testing.T, pyReply) {
		return func(t *testing.T, got pyReply) {
			// A builtin cannot change class: Python puts the remote
			// message and traceback into args[0] instead.
			e := got.Failure
			if e == nil || e.Module != "builtins" || e.Class != f.Class || len(e.Args) == 0 || e.Args[0] != remoteMessage(f) {
				t.Errorf("python got %+v, want builtins.%s(%q)", e, f.Class, remoteMessage(f))
			}
		}
	}
	replies := []replyCase{
		{reply: &Reply{Result: json.RawMessage(`{"v": "héllo", "l": [1, 2.5, null, true]}`), Ending: true, MsgID: NewID(), UniqueID: NewID()},
			check: func(t *testing.T, got pyReply) {
				assertJSONEqual(t, "result", got.Result, []byte(`{"v": "héllo", "l": [1, 2.5, null, true]}`))
				if !got.Ending || got.Failure != nil {
					t.Errorf("python got %+v", got)
				}
			}},
		{reply: &Reply{Ending: true, MsgID: NewID()},
			check: func(t *testing.T, got pyReply) {
				if string(got.Result) != "null" || !got.Ending || got.Failure != nil {
					t.Errorf("python got %+v, want a null final result", got)
				}
			}},
		{reply: Heartbeat(NewID()),
			check: func(t *testing.T, got pyReply) {
				// Null result and ending false: a heartbeat to Python.
				if string(got.Result) != "null" || got.Ending || got.Failure != nil {
					t.Errorf("python got %+v, want a heartbeat", got)
				}
			}},
		{reply: &Reply{Failure: valueErr, Ending: true, MsgID: NewID(), UniqueID: NewID()}, check: wantBuiltin(valueErr)},
		{reply: &Reply{Failure: keyErr, Ending: true, MsgID: NewID()}, check: wantBuiltin(keyErr)},
		{reply: &Reply{Failure: unicodeErr, Ending: true, MsgID: NewID()}, check: wantBuiltin(unicodeErr)},
		{reply: &Reply{Failure: noSuch, Ending: true, MsgID: NewID()}, check: wantRemoteError(noSuch)},
		{reply: &Reply{Failure: unsupported, Ending: true, MsgID: NewID()}, check: wantRemoteError(unsupported)},
		{reply: &Reply{Failure: custom, Ending: true, MsgID: NewID()}, check: wantRemoteError(custom)},
		{
			// Allowed: Python rebuilds the dispatcher's own class.
			reply: &Reply{Failure: noSuch, Ending: true, MsgID: NewID()}, allowed: []string{ModuleDispatcher},
			check: func(t *testing.T, got pyReply) {
				e := got.Failure
				if e == nil || e.Class != "NoSuchMethod_Remote" || e.Module != ModuleDispatcher+"_Remote" ||
					len(e.MRO) < 2 || e.MRO[1] != ModuleDispatcher+".NoSuchMethod" || e.Str != remoteMessage(noSuch) {
					t.Errorf("python got %+v, want a rebuilt NoSuchMethod", e)
				}
			},
		},
	}
	type replyInput struct {
		Body    []byte   `json:"body"`
		Allowed []string `json:"allowed"`
	}
	var replyInputs []replyInput
	for _, rc := range replies {
		body, err := rc.reply.Encode()
		if err != nil {
			t.Fatal(err)
		}
		replyInputs = append(replyInputs, replyInput{Body: body, Allowed: append([]string{}, rc.allowed...)})
	}

	// JSON strings, and a zlib stream.
	var strs [][]byte
	for _, c := range jsonStringCases {
		strs = append(strs, pyjson.AppendString(nil, c.in))
	}
	zbody := reqBodies[0]
	zlibbed := zlibCompress(t, zbody)

	var got struct {
		Requests []pyRequest `json:"requests"`
		Replies  []pyReply   `json:"replies"`
		Strings  []string    `json:"strings"`
		Zlib     [][]byte    `json:"zlib"`
	}
	runPython(t, "read", map[string]any{
		"requests": reqBodies, "replies": replyInputs, "strings": strs, "zlib": [][]byte{zlibbed},
	}, &got)
	if len(got.Requests) != len(requests) || len(got.Replies) != len(replies) || len(got.Strings) != len(strs) || len(got.Zlib) != 1 {
		t.Fatalf("python answered %d/%d requests, %d/%d replies, %d/%d strings, %d/1 zlib",
			len(got.Requests), len(requests), len(got.Replies), len(replies), len(got.Strings), len(strs), len(got.Zlib))
	}

	for i, r := range requests {
		t.Run("request/"+r.Method, func(t *testing.T) {
			p := got.Requests[i]
			if p.Method == nil || *p.Method != r.Method {
				t.Errorf("method = %v, want %q", p.Method, r.Method)
			}
			args := r.Args
			if len(args) == 0 {
				args = json.RawMessage("{}") // Encode sends {} for no args
			}
			assertJSONEqual(t, "args", p.Args, args)
			if !cmp.Equal(p.Namespace, strOrNil(r.Namespace)) {
				t.Errorf("namespace = %v, want %q", p.Namespace, r.Namespace)
			}
			if p.Version != r.VersionOrDefault() {
				t.Errorf("version = %q, want %q", p.Version, r.VersionOrDefault())
			}
			wantReplyQ := ""
			if r.IsCall() {
				wantReplyQ = r.ReplyQ
			}
			if !cmp.Equal(p.MsgID, strOrNil(r.MsgID)) || !cmp.Equal(p.ReplyQ, strOrNil(wantReplyQ)) || !cmp.Equal(p.UniqueID, strOrNil(r.UniqueID)) {
				t.Errorf("ids = %v %v %v, want %q %q %q", p.MsgID, p.ReplyQ, p.UniqueID, r.MsgID, wantReplyQ, r.UniqueID)
			}
			// The endpoint's ctxt in Python is our EndpointContext, except
			// that a cast carries no _timeout at all.
			ec := r.EndpointContext()
			if !r.IsCall() {
				ec["client_timeout"] = json.RawMessage("null")
			}
			want, err := json.Marshal(ec)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, "ctxt", p.Ctxt, want)
		})
	}

	for i, rc := range replies {
		t.Run("reply/"+strings.TrimSpace(describeReply(rc.reply)), func(t *testing.T) {
			p := got.Replies[i]
			if p.MsgID == nil || *p.MsgID != rc.reply.MsgID {
				t.Errorf("msg id = %v, want %q", p.MsgID, rc.reply.MsgID)
			}
			rc.check(t, p)
		})
	}

	for i, c := range jsonStringCases {
		want := c.in
		var back string
		if err := json.Unmarshal(strs[i], &back); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(want) {
			want = back // invalid UTF-8 became U+FFFD, which Python must read too
		}
		if got.Strings[i] != want {
			t.Errorf("string %s: python read %q, want %q", c.name, got.Strings[i], want)
		}
	}

	if !bytes.Equal(got.Zlib[0], zbody) {
		t.Errorf("kombu decompressed %q, want %q", truncate(got.Zlib[0], 80), truncate(zbody, 80))
	}
}

func describeReply(r *Reply) string {
	switch {
	case r.Failure != nil:
		return "failure " + r.Failure.QualifiedClass()
	case r.IsHeartbeat():
		return "heartbeat"
	case len(r.Result) == 0:
		return "null"
	}
	return "result"
}

// TestWeReadPythonMessages decodes requests, replies, failures and
// compressed bodies written by Python's own encoding path.
func TestWeReadPythonMessages(t *testing.T) {
	type written struct {
		Name   string          `json:"name"`
		Body   []byte          `json:"body"`
		Expect json.RawMessage `json:"expect"`
	}
	var got struct {
		Requests   []written `json:"requests"`
		Replies    []written `json:"replies"`
		Plain      []byte    `json:"plain"`
		Compressed []struct {
			Header string `json:"header"`
			Body   []byte `json:"body"`
		} `json:"compressed"`
	}
	runPython(t, "write", nil, &got)
	if len(got.Requests) == 0 || len(got.Replies) == 0 || len(got.Compressed) != 2 {
		t.Fatalf("python wrote %d requests, %d replies, %d compressed bodies", len(got.Requests), len(got.Replies), len(got.Compressed))
	}

	for _, w := range got.Requests {
		t.Run("request/"+w.Name, func(t *testing.T) {
			r, err := DecodeRequest(w.Body)
			if string(w.Expect) == "null" {
				// Python wrote NaN or Infinity: not JSON, malformed here.
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("DecodeRequest(%s) = %+v, %v; want ErrMalformed", w.Body, r, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeRequest(%s): %v", w.Body, err)
			}
			var exp map[string]json.RawMessage
			if err := json.Unmarshal(w.Expect, &exp); err != nil {
				t.Fatal(err)
			}
			want := &Request{Args: exp["args"], Timeout: exp["_timeout"]}
			for key, dst := range map[string]*string{
				"method": &want.Method, "namespace": &want.Namespace, "version": &want.Version,
				"_msg_id": &want.MsgID, "_reply_q": &want.ReplyQ, "_unique_id": &want.UniqueID,
			} {
				if v, ok := exp[key]; ok {
					if err := json.Unmarshal(v, dst); err != nil {
						t.Fatal(err)
					}
				}
			}
			for k, v := range exp {
				if name, ok := strings.CutPrefix(k, ContextPrefix); ok {
					if want.Context == nil {
						want.Context = Context{}
					}
					want.Context[name] = v
				}
			}
			if diff := cmp.Diff(want, r, rawJSONEqual); diff != "" {
				t.Errorf("decoded request (-python +go):\n%s", diff)
			}
			if again, err := DecodeRequest(r.Encode()); err != nil || !cmp.Equal(r, again) {
				t.Errorf("re-encoding changed the request: %v\n%s", err, cmp.Diff(r, again))
			}
		})
	}

	for _, w := range got.Replies {
		t.Run("reply/"+w.Name, func(t *testing.T) {
			r, err := DecodeReply(w.Body)
			if err != nil {
				t.Fatalf("DecodeReply(%s): %v", w.Body, err)
			}
			var exp struct {
				Result   json.RawMessage `json:"result"`
				Failure  *string         `json:"failure"`
				Ending   bool            `json:"ending"`
				MsgID    string          `json:"_msg_id"`
				UniqueID string          `json:"_unique_id"`
			}
			if err := json.Unmarshal(w.Expect, &exp); err != nil {
				t.Fatal(err)
			}
			if r.MsgID != exp.MsgID || r.UniqueID != exp.UniqueID || r.Ending != exp.Ending {
				t.Errorf("got %q %q %v, want %q %q %v", r.MsgID, r.UniqueID, r.Ending, exp.MsgID, exp.UniqueID, exp.Ending)
			}
			if r.IsHeartbeat() != (w.Name == "heartbeat") {
				t.Errorf("IsHeartbeat() = %v", r.IsHeartbeat())
			}
			if exp.Failure == nil {
				if r.Failure != nil {
					t.Errorf("failure %+v, want none", r.Failure)
				}
				assertJSONEqual(t, "result", r.Result, exp.Result)
				return
			}
			if r.Result != nil {
				t.Errorf("result %s alongside a failure", r.Result)
			}
			var pf struct {
				Class   string          `json:"class"`
				Module  string          `json:"module"`
				Message string          `json:"message"`
				TB      []string        `json:"tb"`
				Args    json.RawMessage `json:"args"`
				Kwargs  json.RawMessage `json:"kwargs"`
			}
			if err := json.Unmarshal([]byte(*exp.Failure), &pf); err != nil {
				t.Fatal(err)
			}
			want := &Failure{Class: pf.Class, Module: pf.Module, Message: pf.Message, Traceback: pf.TB, Args: pf.Args, Kwargs: pf.Kwargs}
			if diff := cmp.Diff(want, r.Failure, rawJSONEqual); diff != "" {
				t.Errorf("failure (-python +go):\n%s", diff)
			}
			direct, err := UnmarshalFailure([]byte(*exp.Failure))
			if err != nil || !cmp.Equal(direct, r.Failure, rawJSONEqual) {
				t.Errorf("UnmarshalFailure = %+v, %v", direct, err)
			}
			// Python's last traceback line is our Error() for
			// exceptions from named modules and builtins.
			if last := pf.TB[len(pf.TB)-1]; last != r.Failure.Error()+"\n" {
				t.Errorf("Error() = %q, python's traceback ends %q", r.Failure.Error(), last)
			}
			// And re-encoding gives Python's structure back.
			enc, err := r.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(structure(t, w.Body), structure(t, enc)); diff != "" {
				t.Errorf("re-encoded reply (-python +go):\n%s", diff)
			}
		})
	}

	for _, c := range got.Compressed {
		t.Run("compressed/"+c.Header, func(t *testing.T) {
			body, err := Decompress(c.Header, c.Body, int64(len(got.Plain)))
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if !bytes.Equal(body, got.Plain) {
				t.Errorf("Decompress = %q, want %q", truncate(body, 80), truncate(got.Plain, 80))
			}
			if _, err := Decompress(c.Header, c.Body, int64(len(got.Plain))-1); !errors.Is(err, ErrMalformed) {
				t.Errorf("limit one byte short: err = %v, want ErrMalformed", err)
			}
			if r, err := DecodeRequest(body); err != nil || r.Method != "record" {
				t.Errorf("DecodeRequest = %+v, %v", r, err)
			}
		})
	}
}

// TestPythonRules checks Compatible against version_is_compatible on every
// case of the table, and the dispatcher failures against Python's own
// NoSuchMethod(method) and UnsupportedVersion(version, method=...).
func TestPythonRules(t *testing.T) {
	pairs := make([][2]string, len(compatibleCases))
	for i, c := range compatibleCases {
		pairs[i] = [2]string{c.have, c.want}
	}
	const method, version = "some_method", "1.7"
	var got struct {
		Compat []struct {
			OK      *bool  `json:"ok"`
			Error   string `json:"error"`
			Message string `json:"message"`
		} `json:"compat"`
		Failures map[string]struct {
			Class   string          `json:"class"`
			Module  string          `json:"module"`
			Message string          `json:"message"`
			TB      []string        `json:"tb"`
			Args    json.RawMessage `json:"args"`
			Kwargs  json.RawMessage `json:"kwargs"`
		} `json:"failures"`
	}
	runPython(t, "rules", map[string]any{"compat": pairs, "method": method, "version": version}, &got)
	if len(got.Compat) != len(compatibleCases) {
		t.Fatalf("python answered %d of %d compat cases", len(got.Compat), len(compatibleCases))
	}
	for i, c := range compatibleCases {
		p := got.Compat[i]
		t.Run("compatible/"+c.have+"/"+c.want, func(t *testing.T) {
			ok, err := Compatible(c.have, c.want)
			if p.OK != nil {
				if err != nil || ok != *p.OK {
					t.Errorf("Compatible(%q, %q) = %v, %v; python says %v", c.have, c.want, ok, err, *p.OK)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) || f.Class != p.Error || f.Message != p.Message {
				t.Errorf("Compatible(%q, %q) = %v, %v; python raises %s(%q)", c.have, c.want, ok, err, p.Error, p.Message)
			}
		})
	}
	for key, f := range map[string]*Failure{
		"nosuchmethod":         NoSuchMethod(method),
		"unsupported":          UnsupportedVersion(version, method),
		"unsupported_nomethod": UnsupportedVersion(version, ""),
	} {
		t.Run("failure/"+key, func(t *testing.T) {
			p, ok := got.Failures[key]
			if !ok {
				t.Fatal("python sent no such failure")
			}
			if f.Class != p.Class || f.Module != p.Module || f.Message != p.Message {
				t.Errorf("go %s / %s / %q, python %s / %s / %q", f.Module, f.Class, f.Message, p.Module, p.Class, p.Message)
			}
			assertJSONEqual(t, "args", f.Args, p.Args)
			assertJSONEqual(t, "kwargs", f.Kwargs, p.Kwargs)
			if gotLast, pyLast := f.Traceback[len(f.Traceback)-1], p.TB[len(p.TB)-1]; gotLast != pyLast {
				t.Errorf("last traceback line %q, python's %q", gotLast, pyLast)
			}
		})
	}
}
