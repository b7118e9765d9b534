//go:build cluster

package reliability

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// The cluster test's knobs: how long a caller waits for an answer, how
// soon a host must serve again after a node died, and how long a killed
// node stays down.
const (
	clusterCallTimeout = 10 * time.Second
	clusterServeBound  = 5 * time.Second
	clusterOutage      = 3 * time.Second
)

// startCluster starts size private nodes with a cookie of their own (never
// the system broker's), joins them into one cluster and stops them all at
// cleanup, also when the test fails.
func startCluster(t *testing.T, size int) []*privateNode {
	t.Helper()
	var b [10]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:4])
	cookie := strings.ToUpper(hex.EncodeToString(b[:]))
	nodes := make([]*privateNode, size)
	for i := range nodes {
		nodes[i] = newPrivateNode(t, fmt.Sprintf("oslohost-cl-%s-%d@localhost", id, i+1), cookie)
	}
	for i, n := range nodes {
		took := n.start(t)
		if i > 0 {
			for _, args := range [][]string{{"stop_app"}, {"join_cluster", nodes[0].name}, {"start_app"}} {
				if err := n.ctl(2*time.Minute, args...); err != nil {
					t.Fatalf("cluster node %d: %v", i+1, err)
				}
			}
		}
		t.Logf("cluster node %s up (AMQP %d) in %v", n.name, n.port, took.Round(time.Millisecond))
	}
	return nodes
}

// kill9 SIGKILLs the node's Erlang VM and the processes of its start
// script, and waits (bounded) until they are gone.
func (n *privateNode) kill9(t testing.TB) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(n.dir, "pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s still running 30 s after SIGKILL", n.name)
	}
	n.cmd = nil
}

// clusterCall is one call of the load and what became of it.
type clusterCall struct {
	phase   int
	outcome string
	elapsed time.Duration
}

// TestClusterFailover (make test-cluster, -tags cluster): a three-node
// RabbitMQ cluster with quorum queues, transient quorum queues and stream
// fanout; two oslohost hosts and a 16.1.0 Python server serve one topic;
// Go callers call it with unique ids, each execution of which the endpoints
// record. Then kill -9, in turn, the node a host is connected to, the node
// leading the topic's quorum queue and the node leading the callers' reply
// queue, and restart it. Every call is counted: answered, failed, timed
// out, executed twice.
func TestClusterFailover(t *testing.T) {
	pypeer.RequirePeer(t, pypeer.PeerTrixie)
	nodes := startCluster(t, 3)
	var hostsPart []string
	for _, n := range nodes {
		hostsPart = append(hostsPart, fmt.Sprintf("guest:guest@127.0.0.1:%d", n.port))
	}
	url := "rabbit://" + strings.Join(hostsPart, ",") + "/?rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=16&rabbit_interval_max=2"
	topic := pypeer.UniqueName(t, "cluster")
	dir := t.TempDir()

	type hostServer struct {
		name, journal string
		h             *hostProc
	}
	var hosts []*hostServer
	for _, name := range []string{"h1", "h2"} {
		hs := &hostServer{name: name, journal: filepath.Join(dir, name+".journal")}
		hs.h = runHost(t, writeConfig(t, fmt.Sprintf(`transport {
  url = %q
}
log {
  level = "info"
}
%s
plugin "faulty" {
  command = %q
  env     = { JOURNAL = %q }
}
server "s" {
  topic   = %q
  server  = %q
  plugins = ["faulty"]
}
`, url, adminBlock, bin.faulty, hs.journal, topic, name)))
		hosts = append(hosts, hs)
	}
	py := pypeer.StartServer(t, pypeer.ServerOptions{URL: url, Topic: topic, Server: "p", Peer: pypeer.PeerTrixie})

	callers := dialClient(t, url, "cluster-callers")
	c := client.New(callers, oslo.Target{Topic: topic}).Prepare(client.Timeout(clusterCallTimeout))
	if err := c.Call(bg(t, 30*time.Second), nil, "record", map[string]string{"id": "warmup"}, nil); err != nil {
		t.Fatalf("first call: %v", err)
	}
	callerReply := replyQueues(t, nodes)
	// The probes' reply queue is declared now, with all three nodes up: a
	// quorum queue declared while a node is down has only the running
	// nodes as members (RabbitMQ 3.10 does not grow it back), and losing
	// one of two members later would stop the probes, not the hosts.
	probes := dialClient(t, url, "cluster-probes")
	for _, name := range []string{"h1", "h2"} {
		pc := client.New(probes, oslo.Target{Topic: topic, Server: name}).Prepare(client.Timeout(20 * time.Second))
		if err := pc.Call(bg(t, 30*time.Second), nil, "ok", nil, nil); err != nil {
			t.Fatalf("probe %s: %v", name, err)
		}
	}

	probeReply := ""
	for name := range listQueues(t, nodes) {
		if strings.HasPrefix(name, "reply_") && name != callerReply {
			probeReply = name
		}
	}

	// The load: 4 callers, one call at a time each, until stopped.
	var (
		phase   atomic.Int32
		mu      sync.Mutex
		calls   = map[string]*clusterCall{}
		stop    = make(chan struct{})
		running sync.WaitGroup
	)
	for g := 0; g < 4; g++ {
		running.Add(1)
		go func() {
			defer running.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				id := fmt.Sprintf("c%d-%d", g, i)
				cc := &clusterCall{phase: int(phase.Load())}
				mu.Lock()
				calls[id] = cc
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout+30*time.Second)
				begin := time.Now()
				err := c.Call(ctx, nil, "record", map[string]string{"id": id}, nil)
				cancel()
				mu.Lock()
				cc.outcome, cc.elapsed = outcome(err), time.Since(begin)
				mu.Unlock()
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); running.Wait() })
	t.Cleanup(stopLoad)
	settled := func(n int) bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) >= n
	}
	waitFor(t, 30*time.Second, "load running", func() bool { return settled(50) })

	type kill struct {
		what   string
		node   func() *privateNode
		served [2]time.Duration // h1, h2 answering again after the kill
		probe  [2]error         // the last probe's error when it never answered
		// consuming is when each host's server consumer consumed again
		// after the kill, by its own status (0: never interrupted).
		consuming [2]time.Duration
		down      string
	}
	kills := []*kill{
		{what: "node h1 is connected to", node: func() *privateNode { return connectedNode(t, nodes, hosts[0].h.Pid()) }},
		{what: "leader of the topic's quorum queue", node: func() *privateNode { return leaderOf(t, nodes, topic) }},
		{what: "leader of the callers' reply queue", node: func() *privateNode { return leaderOf(t, nodes, callerReply) }},
	}
	for i, k := range kills {
		n := k.node()
		k.down = n.name
		t.Logf("kill %d (%s): %s; queues (name leader members): %s", i+1, k.what, n.name,
			queueMembers(t, nodes, topic, topic+".h1", topic+".h2", callerReply, probeReply))
		phase.Store(int32(i + 1))
		killedAt := time.Now()
		n.kill9(t)
		var wg sync.WaitGroup
		for j, hs := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pc := client.New(probes, oslo.Target{Topic: topic, Server: hs.name})
				k.served[j], k.probe[j] = serveAgainErr(pc, "ok", killedAt, 60*time.Second)
			}()
		}
		wg.Wait()
		for j, hs := range hosts {
			for _, s := range hs.h.Status(t).Servers {
				switch {
				case s.State != "consuming":
					k.consuming[j] = -1
					t.Logf("kill %d: %s's server is %s since %v: %s", i+1, hs.name, s.State, s.StateSince, s.LastError)
				case s.StateSince != nil && s.StateSince.After(killedAt):
					k.consuming[j] = s.StateSince.Sub(killedAt)
					t.Logf("kill %d: %s consuming again %v after the kill (last error: %s)", i+1, hs.name, k.consuming[j].Round(time.Millisecond), s.LastError)
				}
			}
			if k.probe[j] != nil {
				t.Logf("kill %d: %s's probes never answered; the last: %v", i+1, hs.name, k.probe[j])
			}
		}
		if rest := clusterOutage - time.Since(killedAt); rest > 0 {
			time.Sleep(rest) // the node stays down a moment, under load
		}
		restart := n.start(t)
		t.Logf("kill %d (%s): %s down; h1 serving again after %v, h2 after %v; node back in %v",
			i+1, k.what, n.name, k.served[0].Round(time.Millisecond), k.served[1].Round(time.Millisecond), restart.Round(time.Millisecond))
		mu.Lock()
		base := len(calls)
		mu.Unlock()
		waitFor(t, 60*time.Second, "load after the restart", func() bool { return settled(base + 50) })
	}
	stopLoad()

	// Every execution, by call id: the hosts' journals and the Python
	// server's record lines (which it emits before it answers).
	execs := map[string]int{}
	by := map[string][]string{} // call id -> who executed it, in journal order
	for _, hs := range hosts {
		f, err := os.Open(hs.journal)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			execs[sc.Text()]++
			by[sc.Text()] = append(by[sc.Text()], hs.name)
		}
		f.Close()
	}
	casts, _ := py.Casts(bg(t, time.Second), 1<<30) // all so far
	for _, cs := range casts {
		if id, ok := cs.Kwargs["id"].(string); ok {
			execs[id]++
			by[id] = append(by[id], "p")
		}
	}

	// A call run twice by one server is a duplicate its window should have
	// caught; run by two servers, it is a redelivery to another consumer
	// after the queue's leader died with the first one's ack (RabbitMQ's
	// at-least-once: no server can know another ran it, Python's neither).
	twiceBySame := func(who []string) bool {
		seen := map[string]bool{}
		for _, w := range who {
			if seen[w] {
				return true
			}
			seen[w] = true
		}
		return false
	}
	type counts struct{ calls, ok, failed, timeout, notRun, runNotAnswered, runTwice, runTwiceSame, answeredNotRun, hung int }
	perPhase := make([]counts, len(kills)+1)
	var all counts
	failedHow := map[string]int{}
	for id, cc := range calls {
		p := &perPhase[cc.phase]
		for _, ct := range []*counts{p, &all} {
			ct.calls++
			switch {
			case cc.outcome == "ok":
				ct.ok++
			case cc.outcome == "timeout":
				ct.timeout++
			default:
				ct.failed++
			}
			if execs[id] == 0 && cc.outcome != "ok" {
				ct.notRun++
			}
			if execs[id] > 0 && cc.outcome != "ok" {
				ct.runNotAnswered++
			}
			if execs[id] == 0 && cc.outcome == "ok" {
				ct.answeredNotRun++
			}
			if execs[id] > 1 {
				ct.runTwice++
				if twiceBySame(by[id]) {
					ct.runTwiceSame++
				}
			}
			if cc.elapsed > clusterCallTimeout+2*time.Second {
				ct.hung++
			}
		}
		if execs[id] > 1 {
			t.Logf("executed twice: call %s (phase %d, %s after %v) by %v", id, cc.phase, cc.outcome, cc.elapsed.Round(time.Millisecond), by[id])
		}
		if cc.outcome != "ok" && cc.outcome != "timeout" {
			failedHow[cc.outcome]++
		}
	}
	for i, p := range perPhase {
		what, down := "before the first kill", "-"
		if i > 0 {
			what, down = kills[i-1].what, kills[i-1].down
		}
		t.Logf("result: phase %d (%s, killed %s): calls=%d answered=%d failed=%d timed_out=%d not_executed=%d executed_not_answered=%d executed_twice=%d (by one server %d) answered_not_executed=%d past_timeout=%d",
			i, what, down, p.calls, p.ok, p.failed, p.timeout, p.notRun, p.runNotAnswered, p.runTwice, p.runTwiceSame, p.answeredNotRun, p.hung)
	}
	t.Logf("result: total calls=%d answered=%d failed=%d timed_out=%d not_executed=%d executed_not_answered=%d executed_twice=%d (by one server %d) answered_not_executed=%d past_timeout=%d failures=%v",
		all.calls, all.ok, all.failed, all.timeout, all.notRun, all.runNotAnswered, all.runTwice, all.runTwiceSame, all.answeredNotRun, all.hung, failedHow)
	for i, k := range kills {
		t.Logf("result: kill %d (%s): h1 serving again after %v, h2 after %v; consuming again (host status; 0 = not interrupted): h1 %v, h2 %v",
			i+1, k.what, k.served[0].Round(time.Millisecond), k.served[1].Round(time.Millisecond),
			k.consuming[0].Round(time.Millisecond), k.consuming[1].Round(time.Millisecond))
		for j, d := range k.consuming {
			if d < 0 || d > clusterServeBound {
				t.Errorf("kill %d (%s): %s's consumer consuming again after %v, want within %v", i+1, k.what, hosts[j].name, d, clusterServeBound)
			}
		}
		for j, d := range k.served {
			if d < 0 || d > clusterServeBound {
				t.Errorf("kill %d (%s): %s serving again after %v, want within %v", i+1, k.what, hosts[j].name, d, clusterServeBound)
			}
		}
	}
	// A host that did not serve again: its goroutines (SIGQUIT makes the Go
	// runtime print them and exit), kept in a file for the diagnosis.
	for j, hs := range hosts {
		stuck := false
		for _, k := range kills {
			stuck = stuck || k.served[j] < 0 || k.served[j] > clusterServeBound
		}
		if !stuck {
			continue
		}
		_ = hs.h.Process().Signal(syscall.SIGQUIT)
		_ = hs.h.WaitExit(t, 30*time.Second)
		p := filepath.Join(os.TempDir(), fmt.Sprintf("oslohost-cluster-%s-%s.log", topic, hs.name))
		if err := os.WriteFile(p, []byte(hs.h.Log()), 0o644); err == nil {
			t.Logf("%s did not serve again: its log and goroutines are in %s", hs.name, p)
		}
	}
	if all.runTwiceSame > 0 {
		t.Errorf("%d calls executed twice by one server (its duplicate window missed them)", all.runTwiceSame)
	}
	if all.runTwice > all.runTwiceSame {
		t.Logf("%d calls executed by two servers: redelivered to another consumer after a queue leader died with the first one's ack (at-least-once, as between Python servers)", all.runTwice-all.runTwiceSame)
	}
	if all.answeredNotRun > 0 {
		t.Errorf("%d calls answered but never executed", all.answeredNotRun)
	}
	if all.hung > 0 {
		t.Errorf("%d calls took longer than their %v timeout (+2 s)", all.hung, clusterCallTimeout)
	}
	if all.ok == 0 {
		t.Errorf("no call answered")
	}
}

// live is the first node of nodes that is running.
func live(t testing.TB, nodes []*privateNode) *privateNode {
	t.Helper()
	for _, n := range nodes {
		if n.cmd != nil {
			return n
		}
	}
	t.Fatal("no cluster node running")
	return nil
}

// listQueues is `rabbitmqctl list_queues name leader` on a live node:
// queue name -> its leader's node name (quorum queues).
func listQueues(t testing.TB, nodes []*privateNode) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := live(t, nodes).ctlOutput(ctx, "list_queues", "--no-table-headers", "name", "leader")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// queueMembers is `list_queues name leader members` for the named queues,
// for the log.
func queueMembers(t testing.TB, nodes []*privateNode, names ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := live(t, nodes).ctlOutput(ctx, "list_queues", "--no-table-headers", "name", "leader", "members")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		for _, name := range names {
			if strings.HasPrefix(line, name+"\t") {
				rows = append(rows, strings.Join(strings.Fields(line), " "))
			}
		}
	}
	return strings.Join(rows, "; ")
}

// replyQueues is the one reply queue on the cluster (the callers').
func replyQueues(t testing.TB, nodes []*privateNode) string {
	t.Helper()
	var found []string
	for name := range listQueues(t, nodes) {
		if strings.HasPrefix(name, "reply_") {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		t.Fatalf("reply queues on the cluster: %v, want the callers' one", found)
	}
	return found[0]
}

// leaderOf is the node leading quorum queue q.
func leaderOf(t testing.TB, nodes []*privateNode, q string) *privateNode {
	t.Helper()
	leader := listQueues(t, nodes)[q]
	for _, n := range nodes {
		if n.name == leader {
			return n
		}
	}
	t.Fatalf("queue %s: leader %q is none of the cluster's nodes", q, leader)
	return nil
}

// connectedNode is the node holding a connection of process pid (the
// broker shows "<program>:<pid>:..." as the connection_name).
func connectedNode(t testing.TB, nodes []*privateNode, pid int) *privateNode {
	t.Helper()
	// list_connections lists the whole cluster's connections on any node:
	// the connection process's pid, "<node.N.N.N>", says where each one is.
	mark := fmt.Sprintf(":%d:", pid)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := live(t, nodes).ctlOutput(ctx, "list_connections", "--no-table-headers", "pid", "client_properties")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, mark) {
			continue
		}
		connPid, _, _ := strings.Cut(strings.TrimSpace(line), "\t")
		for _, n := range nodes {
			if strings.HasPrefix(connPid, "<"+n.name+".") {
				return n
			}
		}
	}
	t.Fatalf("no cluster node has a connection of pid %d", pid)
	return nil
}
