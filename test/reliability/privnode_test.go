package reliability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// privateNode is a RabbitMQ node of its own (name, ports, data and log
// directories), started by the test with rabbitmq-server so that it can be
// stopped and started again without touching the shared broker.
type privateNode struct {
	name, dir string
	port      int
	cookie    string // the Erlang cookie when not the system's
	env       []string
	cmd       *exec.Cmd
	exited    chan struct{}
	// listening is when the last start saw the AMQP port accept.
	listening time.Time
}

// startPrivateNode starts a node and waits (bounded) until it serves; it
// is stopped (killed if need be) and its directory removed at cleanup.
// It skips t when the machine cannot run one (not root, no rabbitmq user).
func startPrivateNode(t testing.TB) *privateNode {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := newPrivateNode(t, "oslohost-test-"+hex.EncodeToString(b[:])+"@localhost", "")
	n.start(t)
	return n
}

// newPrivateNode prepares a node named name (directory, ports, config,
// environment, cleanup) without starting it. A non-empty cookie is the
// node's Erlang cookie, passed to the server and to rabbitmqctl, so that
// private nodes can cluster without the system broker's cookie.
func newPrivateNode(t testing.TB, name, cookie string) *privateNode {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		t.Skip("rabbitmq-server not installed")
	}
	u, err := user.Lookup("rabbitmq")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("a private RabbitMQ node needs root and the rabbitmq user")
	}
	dir, err := os.MkdirTemp("", "oslohost-rmq-")
	if err != nil {
		t.Fatal(err)
	}
	n := &privateNode{name: name, dir: dir, port: freePort(t), cookie: cookie}
	for name, content := range map[string]string{
		"rabbitmq.conf": "loopback_users = none\n", "env.conf": "", "enabled_plugins": "[].\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
	n.env = append(os.Environ(),
		"RABBITMQ_NODENAME="+n.name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(n.port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(freePort(t)),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(dir, "env.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
	)
	if cookie != "" {
		// One scheduler: three nodes share two loaded cores.
		n.env = append(n.env, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-setcookie "+cookie+" +S 1:1")
	}
	t.Cleanup(func() {
		n.stop(t)
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "out.log")); err == nil {
				t.Logf("private node %s output:\n%s", n.name, tail(string(b), 40))
			}
		}
		_ = os.RemoveAll(dir)
	})
	return n
}

// URL is the node's transport URL, with query appended.
func (n *privateNode) URL(query string) string {
	return fmt.Sprintf("rabbit://guest:guest@127.0.0.1:%d/%s", n.port, query)
}

// start runs rabbitmq-server and waits until the node accepts AMQP
// connections and await_startup agrees.
func (n *privateNode) start(t testing.TB) time.Duration {
	t.Helper()
	begin := time.Now()
	out, err := os.OpenFile(filepath.Join(n.dir, "out.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("rabbitmq-server")
	cmd.Env = n.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rabbitmq-server: %v", err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(n.exited)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), time.Second)
		if err == nil {
			_ = c.Close()
			n.listening = time.Now()
			break
		}
		select {
		case <-n.exited:
			t.Fatalf("private node %s exited during start", n.name)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private node %s not listening after 90s", n.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := n.ctl(60*time.Second, "await_startup"); err != nil {
		t.Fatalf("await_startup: %v", err)
	}
	return time.Since(begin)
}

// ctl runs rabbitmqctl -n NODE args (bounded).
func (n *privateNode) ctl(d time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := n.ctlOutput(ctx, args...)
	return err
}

// ctlOutput runs rabbitmqctl -n NODE args and returns its output.
func (n *privateNode) ctlOutput(ctx context.Context, args ...string) (string, error) {
	pre := []string{"-n", n.name, "-q"}
	if n.cookie != "" {
		pre = append(pre, "--erlang-cookie", n.cookie)
	}
	b, err := exec.CommandContext(ctx, "rabbitmqctl", append(pre, args...)...).CombinedOutput()
	if err != nil {
		return string(b), fmt.Errorf("rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, b)
	}
	return string(b), nil
}

// stop halts the node (rabbitmqctl stop) and waits for rabbitmq-server
// to exit; it kills the node's processes if that fails.
func (n *privateNode) stop(t testing.TB) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	select {
	case <-n.exited:
		n.cmd = nil
		return
	default:
	}
	if err := n.ctl(60*time.Second, "stop"); err != nil {
		t.Logf("private node: %v; killing it", err)
	}
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		if b, err := os.ReadFile(filepath.Join(n.dir, "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.exited
	}
	n.cmd = nil
}

// freePort is a loopback TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
