package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/test/pypeer"
)

type planJSON struct {
	Valid     bool `json:"valid"`
	Exchanges []struct {
		Name   string `json:"Name"`
		Broker *struct {
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"broker"`
	} `json:"exchanges"`
	Queues []struct {
		Name       string   `json:"name"`
		ConsumedBy []string `json:"consumed_by"`
		Broker     *struct {
			State     string `json:"state"`
			Reason    string `json:"reason"`
			Consumers int    `json:"consumers"`
		} `json:"broker"`
	} `json:"queues"`
	Diagnostics []struct {
		Severity, Summary, Detail, Range string
	} `json:"diagnostics"`
}

func writePlanConfig(t *testing.T, query, exchange string, topics ...string) string {
	t.Helper()
	cfg := fmt.Sprintf("transport {\n  url = %q\n  control_exchange = %q\n}\nplugin \"p\" {\n  command = \"/bin/true\"\n}\n", pypeer.URL()+query, exchange)
	for i, topic := range topics {
		cfg += fmt.Sprintf("server \"s%d\" {\n  topic   = %q\n  server  = \"g\"\n  plugins = [\"p\"]\n}\n", i, topic)
	}
	path := filepath.Join(t.TempDir(), "plan.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func brokerChannel(t *testing.T) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestPlanAgainstBroker: the topology check against the real broker, with
// a 14.0.3 Python server consuming its classic queues on an exchange of
// its own and a quorum queue created with another delivery limit. A
// quorum configuration gets 406-to-be findings for each, named with the
// broker's reason and pointing at the server block; a configuration
// matching the Python server's sees its queue consumed by the fleet; and
// the check creates nothing.
func TestPlanAgainstBroker(t *testing.T) {
	pypeer.Python(t)
	exchange := pypeer.UniqueName(t, "plan-x")
	pyTopic := pypeer.UniqueName(t, "plan-py")
	qTopic := pypeer.UniqueName(t, "plan-q")
	// Registered first, so it runs after the Python server stopped.
	t.Cleanup(func() {
		conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
		if err != nil {
			return
		}
		defer conn.Close()
		if ch, err := conn.Channel(); err == nil {
			for _, q := range []string{qTopic, pyTopic, pyTopic + ".py"} {
				_, _ = ch.QueueDelete(q, false, false, false)
			}
		}
	})
	pypeer.StartServer(t, pypeer.ServerOptions{Exchange: exchange, Topic: pyTopic, Server: "py"})
	ch := brokerChannel(t)
	if _, err := ch.QueueDeclare(qTopic, true, false, false, false, amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": int64(3)}); err != nil {
		t.Fatal(err)
	}

	t.Run("conflicts", func(t *testing.T) {
		path := writePlanConfig(t, "?rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=5", exchange, pyTopic, qTopic)
		code, stdout, stderr := runMain(t, "plan", "--json", path)
		if code != ExitFailure {
			t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
		}
		var p planJSON
		if err := json.Unmarshal([]byte(stdout), &p); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		reasons := map[string]string{}
		for _, x := range p.Exchanges {
			if x.Broker != nil && x.Broker.State == "conflict" {
				reasons["exchange "+x.Name] = x.Broker.Reason
			}
		}
		for _, q := range p.Queues {
			if q.Broker != nil && q.Broker.State == "conflict" {
				reasons["queue "+q.Name] = q.Broker.Reason
			}
		}
		// The Python server's exchange is not durable: declaring falls back
		// to its flag (a warning); its queue is classic, and a non-durable
		// quorum declaration is refused too.
		for what, want := range map[string]string{
			"queue " + pyTopic: "inequivalent arg 'x-queue-type'",
			"queue " + qTopic:  "inequivalent arg 'x-delivery-limit'",
		} {
			if !strings.Contains(reasons[what], want) {
				t.Errorf("%s: reason %q, want %q (all: %v)", what, reasons[what], want, reasons)
			}
		}
		if len(reasons) != 2 {
			t.Errorf("conflicts %v, want exactly those two", reasons)
		}
		var fallback bool
		for _, d := range p.Diagnostics {
			fallback = fallback || (d.Summary == "Durable flag differs from the broker's" && strings.Contains(d.Detail, `exchange "`+exchange+`"`))
		}
		if !fallback {
			t.Errorf("no durable fallback warning for exchange %s: %+v", exchange, p.Diagnostics)
		}
		// Human-readable: the diagnostics point at the server blocks.
		code, stdout, stderr = runMain(t, "plan", path)
		if code != ExitFailure || !strings.Contains(stderr, "Error: Queue conflicts with the broker") ||
			!strings.Contains(stderr, "line 9") || !strings.Contains(stdout, "CONFLICT (406)") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})

	t.Run("consumed by the fleet", func(t *testing.T) {
		path := writePlanConfig(t, "", exchange, pyTopic)
		code, stdout, stderr := runMain(t, "plan", "--json", path)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		var p planJSON
		if err := json.Unmarshal([]byte(stdout), &p); err != nil {
			t.Fatal(err)
		}
		var warned bool
		for _, d := range p.Diagnostics {
			warned = warned || (d.Summary == "Queue already consumed" && strings.Contains(d.Detail, pyTopic) && d.Severity == "warning")
		}
		if !warned {
			t.Errorf("no warning that %s is consumed: %+v", pyTopic, p.Diagnostics)
		}
		for _, q := range p.Queues {
			if q.Name == pyTopic && (q.Broker == nil || q.Broker.State != "equivalent" || q.Broker.Consumers != 1) {
				t.Errorf("queue %s: %+v, want equivalent with the Python server's one consumer", q.Name, q.Broker)
			}
		}
	})

	t.Run("validate --broker", func(t *testing.T) {
		hello := buildBinary(t, "./plugin/sdk/testdata/helloplugin", "")
		path := filepath.Join(t.TempDir(), "v.hcl")
		src := fmt.Sprintf("transport {\n  url = %q\n  control_exchange = %q\n}\nplugin \"hello\" {\n  command = %q\n}\nserver \"s\" {\n  topic   = %q\n  server  = \"g\"\n  plugins = [\"hello\"]\n}\n",
			pypeer.URL()+"?rabbit_quorum_queue=true", exchange, hello, pyTopic)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runMain(t, "validate", path)
		if code != ExitOK {
			t.Fatalf("validate without --broker: exit %d\n%s", code, stderr)
		}
		code, _, stderr = runMain(t, "validate", "--broker", path)
		if code != ExitFailure || !strings.Contains(stderr, "Warning: Durable flag differs from the broker's") || !strings.Contains(stderr, "Queue conflicts with the broker") {
			t.Fatalf("validate --broker: exit %d\n%s", code, stderr)
		}
	})

	// Nothing was declared: the configuration's own queues and exchanges
	// the Python server does not have are still absent.
	for _, q := range []string{pyTopic + ".g", qTopic + ".g"} {
		if _, err := brokerChannel(t).QueueDeclarePassive(q, false, false, false, false, nil); err == nil {
			t.Errorf("queue %s exists after the check", q)
		}
	}
	if err := brokerChannel(t).ExchangeDeclarePassive(qTopic+"_fanout", "fanout", false, true, false, false, nil); err == nil {
		t.Errorf("exchange %s_fanout exists after the check", qTopic)
	}
}

// TestValidateRefusesSharedQueue: the shipped config.hcl's bug (a listener
// pool named like a server topic: one queue, two consumers) is refused by
// plan with a diagnostic at the pool, naming the server; run warns of it.
func TestValidateRefusesSharedQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clash.hcl")
	src := `transport {
  url = "rabbit://guest:guest@127.0.0.1:5672/"
}
plugin "audit" {
  command = "/bin/true"
}
server "audit" {
  topic   = "audit"
  server  = "local"
  plugins = ["audit"]
}
listener "audit" {
  topics  = ["notifications"]
  pool    = "audit"
  plugins = ["audit"]
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain(t, "plan", "--offline", path)
	if code != ExitFailure || !strings.Contains(stderr, "Two blocks consume one queue") || !strings.Contains(stderr, "line 14") ||
		!strings.Contains(stderr, `server "audit"`) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	// run warns of it at start (and then fails on the plugin, /bin/true).
	code, _, stderr = runMain(t, "run", path)
	if code != ExitFailure || !strings.Contains(stderr, "Warning: Two blocks consume one queue") || !strings.Contains(stderr, "line 14") {
		t.Fatalf("run: exit %d, stderr:\n%s", code, stderr)
	}
	// The shipped configuration has no such clash.
	code, _, stderr = runMain(t, "plan", "--offline", filepath.Join(moduleRoot(t), "config.hcl"))
	if code != ExitOK {
		t.Fatalf("config.hcl: exit %d\n%s", code, stderr)
	}
}
