// Package pypeer runs real Python oslo.messaging 14.0.3 peers for interop
// tests: an RPC server (py/oslo_server.py) with the endpoints of the spec's
// capture harness, a long-lived RPC client driver (py/oslo_client.py)
// that executes JSON commands (calls, casts, and notifications sent with a
// Python Notifier: [OpNotify]), and a notification listener
// (py/oslo_notify_listener.py, [StartNotifyListener]).
//
// Tests call [StartServer], [StartClient] and [StartNotifyListener]; they
// skip the test when the peer cannot run here (no /usr/bin/python3 with
// oslo_messaging, or no broker), except under CI=true where a missing peer
// fails the test. The
// Python processes are stopped by t.Cleanup and also exit on their own when
// their stdin (held open by this package) closes, so they cannot outlive
// the test binary.
//
// The Python scripts are embedded and written to a per-process temporary
// directory, so the package works from any test working directory.
//
// Environment: OSLOHOST_TEST_RABBIT_URL overrides [DefaultURL].
package pypeer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// PythonPath is the interpreter that has python3-oslo.messaging installed.
// It is deliberately not the python3 first on PATH.
const PythonPath = "/usr/bin/python3"

// DefaultURL is the oslo transport URL of the local test broker.
const DefaultURL = "rabbit://guest:guest@127.0.0.1:5672/"

// Ops understood by the client driver (Command.Op).
const (
	OpCall            = "call"
	OpCast            = "cast"
	OpConcurrentCalls = "concurrent_calls"
	OpPing            = "ping"
	OpCanSendVersion  = "can_send_version"
	// OpNotify sends a notification with a Python Notifier (Command's
	// PublisherID, Topics, Priority, EventType, Payload, Ctxt, Driver,
	// Retry).
	OpNotify = "notify"
)

const (
	readyTimeout = 30 * time.Second // process start until READY
	stopGrace    = 10 * time.Second // SIGTERM/stdin EOF until kill
	probeTimeout = 3 * time.Second  // broker TCP probe
	maxLine      = 64 << 20         // longest stdout line accepted
)

//go:embed py/*.py
var scripts embed.FS

// ErrExited is returned when the Python process ended while a caller waited.
var ErrExited = errors.New("pypeer: python process exited")

// URL returns OSLOHOST_TEST_RABBIT_URL if set, else DefaultURL.
func URL() string {
	if u := os.Getenv("OSLOHOST_TEST_RABBIT_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// unavailable skips the test, or fails it when CI=true: in CI a missing
// peer is a broken environment, not a reason to pass.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("pypeer (CI=true, so this is fatal): "+format, args...)
	}
	t.Skipf("pypeer: "+format, args...)
}

var pythonCheck struct {
	once sync.Once
	err  error
}

// Python returns PythonPath if it can import oslo_messaging; the check runs
// once per test binary. Otherwise it skips t (fails it if CI=true).
// Safe for concurrent use.
func Python(t testing.TB) string {
	t.Helper()
	pythonCheck.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, PythonPath, "-c", "import oslo_messaging").CombinedOutput()
		if err != nil {
			pythonCheck.err = fmt.Errorf("%s cannot import oslo_messaging (run scripts/ensure-python-peer.sh): %w: %s",
				PythonPath, err, bytes.TrimSpace(out))
		}
	})
	if pythonCheck.err != nil {
		unavailable(t, "%v", pythonCheck.err)
	}
	return PythonPath
}

// requireBroker probes the first host of an oslo transport URL over TCP.
func requireBroker(t testing.TB, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return // unusual URL (several hosts…): let oslo.messaging judge it
	}
	host, _, _ := strings.Cut(u.Host, ",")
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "5672")
	}
	conn, err := net.DialTimeout("tcp", host, probeTimeout)
	if err != nil {
		unavailable(t, "no broker at %s (run scripts/ensure-broker.sh): %v", host, err)
		return
	}
	_ = conn.Close()
}

// UniqueName returns prefix + "-" + 12 random hex digits, for topics,
// exchanges and server names private to one test. prefix must not contain
// dots (oslo routing keys are "topic.server"). Safe for concurrent use.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("pypeer: random name: %v", err)
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// lockedBuffer collects a process's stderr for failure reports.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one Python peer process speaking line-based stdout.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	ready  chan struct{} // closed at the READY line
	exited chan struct{} // closed after cmd.Wait returned
	err    error         // cmd.Wait result, set before exited closes

	writeMu sync.Mutex
}

// startProc starts script with args; onLine gets every stdout line except
// READY (from one goroutine), with a writer for diagnostics. The process is stopped in t.Cleanup (stdin closed, SIGTERM if
// term, kill after stopGrace). It returns once READY arrived, or fails t.
func startProc(t testing.TB, peer Peer, script string, args []string, term bool, onLine func(line string, diag io.Writer)) *proc {
	t.Helper()
	python := Python(t)
	RequirePeer(t, peer)
	dir := t.TempDir()
	for _, name := range []string{"oslo_server.py", "oslo_client.py", "oslo_notify_listener.py", "wire_exc.py", "nova_peer.py", "ovo_server.py", "osprofiler_peer.py"} {
		data, err := scripts.ReadFile("py/" + name)
		if err != nil {
			t.Fatalf("pypeer: embedded %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatalf("pypeer: write %s: %v", name, err)
		}
	}

	p := &proc{
		name:   script,
		stderr: &lockedBuffer{},
		ready:  make(chan struct{}),
		exited: make(chan struct{}),
	}
	p.cmd = exec.Command(python, append([]string{"-u", filepath.Join(dir, script)}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
		"EVENTLET_NO_GREENDNS=yes") // skips a slow import; no eventlet here
	p.cmd.Env = append(p.cmd.Env, peer.env()...)
	if os.Getenv("OSLO_LOCK_PATH") == "" {
		// use_queue_manager takes an oslo.concurrency external lock: the
		// same directory oslohost's queue manager locks in by default.
		p.cmd.Env = append(p.cmd.Env, "OSLO_LOCK_PATH="+os.TempDir())
	}
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = stopGrace
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("pypeer: %s stdin: %v", script, err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("pypeer: %s stdout: %v", script, err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("pypeer: start %s: %v", script, err)
	}

	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		readyClosed := false
		for sc.Scan() {
			line := sc.Text()
			if line == "READY" && !readyClosed {
				readyClosed = true
				close(p.ready)
				continue
			}
			onLine(line, p.stderr)
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(p.stderr, "pypeer: reading stdout: %v\n", err)
			_, _ = io.Copy(io.Discard, stdout) // let Wait finish
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()

	t.Cleanup(func() { p.stop(t, term) })

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		return p
	case <-p.exited:
		t.Fatalf("pypeer: %s exited before READY: %v\nstderr:\n%s", script, p.err, p.stderr)
	case <-timer.C:
		t.Fatalf("pypeer: %s not READY after %v\nstderr:\n%s", script, readyTimeout, p.stderr)
	}
	return nil
}

// stop ends the process: stdin EOF (and SIGTERM if term), then kill after
// stopGrace. Its stderr is logged when the test failed. Idempotent.
func (p *proc) stop(t testing.TB, term bool) {
	p.writeMu.Lock()
	_ = p.stdin.Close()
	p.writeMu.Unlock()
	if term {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		t.Logf("pypeer: %s did not stop within %v; killing it", p.name, stopGrace)
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
			t.Errorf("pypeer: %s (pid %d) still running after kill", p.name, p.cmd.Process.Pid)
		}
	}
	if t.Failed() {
		t.Logf("pypeer: %s stderr:\n%s", p.name, p.stderr)
	}
}

// writeLine sends one line to the process's stdin.
func (p *proc) writeLine(b []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("pypeer: write to %s: %w", p.name, err)
	}
	return nil
}

// ServerOptions configure StartServer. Empty fields get defaults: URL from
// URL(), Exchange "openstack" (oslo's default control exchange), Topic and
// Server unique names.
type ServerOptions struct {
	URL      string
	Exchange string
	Topic    string
	Server   string
	Peer     Peer // the oslo.messaging to run; 14.0.3 when zero
}

// Cast is what the Python server's record endpoint received.
type Cast struct {
	Kwargs map[string]any `json:"kwargs"`
	Ctxt   map[string]any `json:"ctxt"` // includes client_timeout, as oslo passes it
	Server string         `json:"server"`
}

// Server is a running Python oslo.messaging RPC server. Its methods are
// safe for concurrent use.
type Server struct {
	opts ServerOptions
	proc *proc

	mu      sync.Mutex
	casts   []Cast
	changed chan struct{} // closed and replaced on each new cast
}

// StartServer starts py/oslo_server.py listening on Target(topic, server)
// under the control exchange, with rpc_ping_enabled. It returns after the
// server's start() returned (bounded by 30 s) and stops it in t.Cleanup.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	if o.URL == "" {
		o.URL = URL()
	}
	if o.Exchange == "" {
		o.Exchange = "openstack"
	}
	if o.Topic == "" {
		o.Topic = UniqueName(t, "pypeer")
	}
	if o.Server == "" {
		o.Server = UniqueName(t, "pysrv")
	}
	Python(t)
	requireBroker(t, o.URL)
	s := &Server{opts: o, changed: make(chan struct{})}
	args := []string{"--url", o.URL, "--exchange", o.Exchange, "--topic", o.Topic, "--server", o.Server}
	s.proc = startProc(t, o.Peer, "oslo_server.py", args, true, s.onLine)
	return s
}

// Options returns the effective options (defaults filled in).
func (s *Server) Options() ServerOptions { return s.opts }

// Stderr returns what the server logged so far.
func (s *Server) Stderr() string { return s.proc.stderr.String() }

func (s *Server) onLine(line string, diag io.Writer) {
	rest, ok := strings.CutPrefix(line, "CAST ")
	if !ok {
		fmt.Fprintf(diag, "pypeer: unexpected stdout line: %s\n", line)
		return
	}
	var c Cast
	if err := json.Unmarshal([]byte(rest), &c); err != nil {
		fmt.Fprintf(diag, "pypeer: bad CAST line %q: %v\n", line, err)
		return
	}
	s.mu.Lock()
	s.casts = append(s.casts, c)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Casts waits until at least n casts reached the record endpoint and
// returns all received so far, in arrival order. It gives up when ctx ends
// or the server exits, returning what arrived and an error.
func (s *Server) Casts(ctx context.Context, n int) ([]Cast, error) {
	for {
		s.mu.Lock()
		got := append([]Cast(nil), s.casts...)
		changed := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("pypeer: waiting for %d casts, got %d: %w", n, len(got), ctx.Err())
		case <-s.proc.exited:
			// Every stdout line was handled before exited closed.
			s.mu.Lock()
			got = append([]Cast(nil), s.casts...)
			s.mu.Unlock()
			if len(got) >= n {
				return got, nil
			}
			return got, fmt.Errorf("waiting for %d casts, got %d: %w", n, len(got), ErrExited)
		}
	}
}

// ClientOptions configure StartClient. URL defaults to URL(), Exchange to
// "openstack". AllowedExmods becomes the transport's allowed_remote_exmods
// ("wire_exc" makes the server's custom exceptions rebuildable).
type ClientOptions struct {
	URL           string
	Exchange      string
	AllowedExmods []string
	Peer          Peer // the oslo.messaging to run; 14.0.3 when zero
}

// Command is one client operation; zero values mean "not set" (Python's
// default applies, e.g. a 60 s timeout when Timeout is 0).
type Command struct {
	Op                 string // OpCall, OpCast, OpConcurrentCalls, OpPing, OpCanSendVersion
	Topic              string // required
	Server             string
	Namespace          string
	Version            string // also the version tested by OpCanSendVersion
	Method             string
	Exchange           string // Target.exchange, overrides the control exchange
	Fanout             bool
	Timeout            float64 // seconds
	CallMonitorTimeout float64 // seconds
	Retry              *int
	VersionCap         string
	AtLeastOnce        bool // TransportOptions(at_least_once=True)
	Args               map[string]any
	Ctxt               map[string]any
	N                  int      // OpConcurrentCalls: parallel calls
	CheckIsinstance    []string // "ValueError" (builtins) or "module.Class"

	// OpNotify fields; Ctxt and Retry apply too. Topics defaults to
	// ["notifications"], Driver to "messagingv2", Priority to "info".
	PublisherID string
	Topics      []string
	Priority    string // audit, debug, info, warn, error, critical, sample
	EventType   string // required
	Payload     any
	Driver      string // messagingv2, messaging, noop
}

type wireTransportOptions struct {
	AtLeastOnce bool `json:"at_least_once"`
}

type wireCommand struct {
	ID                 int64                 `json:"id"`
	Op                 string                `json:"op"`
	Topic              string                `json:"topic,omitempty"`
	Server             string                `json:"server,omitempty"`
	Namespace          string                `json:"namespace,omitempty"`
	Version            string                `json:"version,omitempty"`
	Method             string                `json:"method,omitempty"`
	Exchange           string                `json:"exchange,omitempty"`
	Fanout             bool                  `json:"fanout,omitempty"`
	Timeout            float64               `json:"timeout,omitempty"`
	CallMonitorTimeout float64               `json:"call_monitor_timeout,omitempty"`
	Retry              *int                  `json:"retry,omitempty"`
	VersionCap         string                `json:"version_cap,omitempty"`
	TransportOptions   *wireTransportOptions `json:"transport_options,omitempty"`
	Args               map[string]any        `json:"args,omitempty"`
	Ctxt               map[string]any        `json:"ctxt,omitempty"`
	N                  int                   `json:"n,omitempty"`
	CheckIsinstance    []string              `json:"check_isinstance,omitempty"`
	PublisherID        string                `json:"publisher_id,omitempty"`
	Topics             []string              `json:"topics,omitempty"`
	Priority           string                `json:"priority,omitempty"`
	EventType          string                `json:"event_type,omitempty"`
	Payload            any                   `json:"payload,omitempty"`
	Driver             string                `json:"driver,omitempty"`
}

// Result is the outcome of a Command as the Python client saw it.
type Result struct {
	OK         bool            `json:"ok"`
	Result     json.RawMessage `json:"result"`      // return value (JSON); null on failure
	ResultRepr string          `json:"result_repr"` // set when the value was not valid JSON (NaN…)
	ExcClass   string          `json:"exc_class"`   // e.__class__.__name__
	ExcModule  string          `json:"exc_module"`  // e.__class__.__module__
	MRO        []string        `json:"mro"`         // class names, most derived first
	Msg        string          `json:"msg"`         // str(e)
	ExcType    string          `json:"exc_type"`    // RemoteError.exc_type (remote class name)
	ExcValue   string          `json:"exc_value"`   // RemoteError.value (remote message)
	ExcArgs    json.RawMessage `json:"exc_args"`    // e.args
	ExcKwargs  map[string]any  `json:"exc_kwargs"`  // e.kwargs (oslo style), if a dict
	Isinstance map[string]bool `json:"isinstance"`  // Command.CheckIsinstance answers
	Elapsed    float64         `json:"elapsed"`     // seconds spent in the Python call
	Results    []Result        `json:"results"`     // OpConcurrentCalls: one per call
	// DriverError is set when the command itself was rejected; Do then
	// also returns an error.
	DriverError string `json:"driver_error"`
}

// Decode unmarshals the call's return value into v.
func (r Result) Decode(v any) error {
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("pypeer: decode result %s: %w", r.Result, err)
	}
	return nil
}

// Client is a running Python oslo.messaging RPC client driver. Do is safe
// for concurrent use; each command runs on its own Python thread.
type Client struct {
	opts   ClientOptions
	proc   *proc
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan []byte
}

// StartClient starts py/oslo_client.py with one RPC transport and returns
// once it is ready (bounded by 30 s); t.Cleanup stops it.
func StartClient(t testing.TB, o ClientOptions) *Client {
	t.Helper()
	if o.URL == "" {
		o.URL = URL()
	}
	if o.Exchange == "" {
		o.Exchange = "openstack"
	}
	Python(t)
	requireBroker(t, o.URL)
	c := &Client{opts: o, pending: make(map[int64]chan []byte)}
	args := []string{"--url", o.URL, "--exchange", o.Exchange,
		"--allowed-exmods", strings.Join(o.AllowedExmods, ",")}
	c.proc = startProc(t, o.Peer, "oslo_client.py", args, false, c.onLine)
	return c
}

// Options returns the effective options (defaults filled in).
func (c *Client) Options() ClientOptions { return c.opts }

// Stderr returns what the client logged so far.
func (c *Client) Stderr() string { return c.proc.stderr.String() }

func (c *Client) onLine(line string, diag io.Writer) {
	var head struct {
		ID *int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(line), &head); err != nil || head.ID == nil {
		fmt.Fprintf(diag, "pypeer: unexpected stdout line: %s\n", line)
		return
	}
	c.mu.Lock()
	ch, ok := c.pending[*head.ID]
	delete(c.pending, *head.ID)
	c.mu.Unlock()
	if ok {
		ch <- []byte(line) // buffered, never blocks
	}
}

// Do runs cmd in the Python client and waits for its result, bounded by
// ctx. A failed RPC is a Result with OK false, not an error; errors mean the
// harness could not get an answer (ctx ended, process gone, bad command).
func (c *Client) Do(ctx context.Context, cmd Command) (Result, error) {
	id := c.nextID.Add(1)
	w := wireCommand{
		ID: id, Op: cmd.Op, Topic: cmd.Topic, Server: cmd.Server,
		Namespace: cmd.Namespace, Version: cmd.Version, Method: cmd.Method,
		Exchange: cmd.Exchange, Fanout: cmd.Fanout, Timeout: cmd.Timeout,
		CallMonitorTimeout: cmd.CallMonitorTimeout, Retry: cmd.Retry,
		VersionCap: cmd.VersionCap, Args: cmd.Args, Ctxt: cmd.Ctxt, N: cmd.N,
		CheckIsinstance: cmd.CheckIsinstance,
		PublisherID:     cmd.PublisherID, Topics: cmd.Topics, Priority: cmd.Priority,
		EventType: cmd.EventType, Payload: cmd.Payload, Driver: cmd.Driver,
	}
	if cmd.AtLeastOnce {
		w.TransportOptions = &wireTransportOptions{AtLeastOnce: true}
	}
	line, err := json.Marshal(w)
	if err != nil {
		return Result{}, fmt.Errorf("pypeer: encode command: %w", err)
	}

	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	if err := c.proc.writeLine(line); err != nil {
		forget()
		return Result{}, err
	}

	select {
	case raw := <-ch:
		return decodeResult(cmd, raw)
	case <-ctx.Done():
		forget()
		return Result{}, fmt.Errorf("pypeer: %s %s: %w", cmd.Op, cmd.Method, ctx.Err())
	case <-c.proc.exited:
		forget()
		select {
		case raw := <-ch: // the answer came just before the exit
			return decodeResult(cmd, raw)
		default:
			return Result{}, fmt.Errorf("%s %s: %w", cmd.Op, cmd.Method, ErrExited)
		}
	}
}

func decodeResult(cmd Command, raw []byte) (Result, error) {
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return Result{}, fmt.Errorf("pypeer: decode result %s: %w", raw, err)
	}
	if r.DriverError != "" {
		return r, fmt.Errorf("pypeer: client rejected %s command: %s", cmd.Op, r.DriverError)
	}
	return r, nil
}
