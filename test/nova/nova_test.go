package nova

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

var bin struct{ host, compute string }

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "oslohost-nova-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := hostproc.Build(ctx, dir, false,
			"github.com/oslohost/oslohost/cmd/oslohost",
			"github.com/oslohost/oslohost/plugins/examples/compute"); err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			return 1
		}
		bin.host, bin.compute = filepath.Join(dir, "oslohost"), filepath.Join(dir, "compute")
		return m.Run()
	}())
}

// deployment is one oslohost serving the compute plugin to a private
// control exchange: as the compute host hostA with a conductor to backport
// through, and as hostB without one. Its listener hands the versioned
// notifications to hostA's plugin.
type deployment struct {
	exchange, notifyTopic, conductorTopic string
	hostA, hostB                          string
	host                                  *hostproc.Proc
}

func deploy(t *testing.T) deployment {
	t.Helper()
	pypeer.Python(t)
	d := deployment{
		exchange:       pypeer.UniqueName(t, "nova"),
		notifyTopic:    pypeer.UniqueName(t, "versioned_notifications"),
		conductorTopic: pypeer.UniqueName(t, "conductor"),
		hostA:          pypeer.UniqueName(t, "cmpa"),
		hostB:          pypeer.UniqueName(t, "cmpb"),
	}
	cfg := fmt.Sprintf(`
transport {
  url              = %q
  control_exchange = %q
}
log {
  level = "debug"
}
plugin "compute" {
  command = %q
  config  = { conductor_topic = %q }
}
plugin "compute_strict" {
  command = %q
}
server "compute" {
  topic   = "compute"
  server  = %q
  plugins = ["compute"]
}
server "strict" {
  topic   = "compute"
  server  = %q
  plugins = ["compute_strict"]
}
listener "nova" {
  topics  = [%q]
  plugins = ["compute"]
}
`, pypeer.URL(), d.exchange, bin.compute, d.conductorTopic, bin.compute, d.hostA, d.hostB, d.notifyTopic)
	d.host = hostproc.Run(t, bin.host, hostproc.WriteConfig(t, cfg))
	return d
}

func (d deployment) nova(t *testing.T, newer bool) *pypeer.Nova {
	return pypeer.StartNova(t, pypeer.NovaOptions{
		Exchange: d.exchange, NotifyTopic: d.notifyTopic, ConductorTopic: d.conductorTopic, NewerInstance: newer,
	})
}

func do(t *testing.T, n *pypeer.Nova, cmd map[string]any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := n.Do(ctx, cmd)
	if err != nil {
		t.Fatalf("%v: %v\nnova_peer stderr:\n%s", cmd, err, n.Stderr())
	}
	return r
}

// object is nova_peer.py's description of a nova object.
type object map[string]any

func (o object) class() string          { return fmt.Sprint(o["class"], " ", o["version"]) }
func (o object) fields() map[string]any { f, _ := o["fields"].(map[string]any); return f }
func (o object) field(name string) object {
	f, _ := o.fields()[name].(map[string]any)
	return f
}
func (o object) changes() []string {
	var out []string
	for _, c := range o["changes"].([]any) {
		out = append(out, c.(string))
	}
	return out
}

func compute(t *testing.T, n *pypeer.Nova, method, level, host string) object {
	t.Helper()
	r := do(t, n, map[string]any{"op": "compute", "method": method, "upgrade_level": level, "instance_host": host})
	if r["ok"] != true {
		t.Fatalf("%s (upgrade_levels compute=%s) raised %v.%v: %v", method, level, r["exc_module"], r["exc_class"], r["msg"])
	}
	res := object(r["result"].(map[string]any))
	res["request_id"] = r["request_id"]
	return res
}

// TestComputeAPICallsThePlugin: nova's ComputeAPI, as nova-api and
// nova-conductor use it, calls the compute plugin with real Instance
// objects and a real RequestContext; the objects that come back are
// rehydrated by nova's serializer into nova's classes, with the plugin's
// changes, the fields the plugin does not declare kept, and, for a caller
// pinned to an older compute RPC API, the older object version.
func TestComputeAPICallsThePlugin(t *testing.T) {
	d := deploy(t)
	n := d.nova(t, false)

	t.Run("get_console_output reads the Instance and the RequestContext", func(t *testing.T) {
		res := compute(t, n, "get_console_output", "zed", d.hostA)
		want := fmt.Sprintf("console of 2c5f1ab7-4c3b-4f8e-9d1a-3b2f5e7c9a11 (vm1) on %s, asked by u-alice/p-demo in %s", d.hostA, res["request_id"])
		if res["value"] != want {
			t.Errorf("got %q\nwant %q", res["value"], want)
		}
		// The plugin logged the typed context; the token stays out of the log.
		hostproc.WaitFor(t, 10*time.Second, "the plugin's log line", func() bool {
			return strings.Contains(d.host.Log(), "get console output")
		})
		if log := d.host.Log(); !strings.Contains(log, "user_id:u-alice") || strings.Contains(log, "SECRET-TOKEN") {
			t.Errorf("the host log does not show the context with its token redacted:\n%s", hostproc.Tail(log, 20))
		}
	})
	t.Run("get_instance_diagnostics returns a Diagnostics with lists of objects", func(t *testing.T) {
		res := compute(t, n, "get_instance_diagnostics", "zed", d.hostA)
		if res.class() != "Diagnostics 1.0" || res["module"] != "nova.objects.diagnostics" {
			t.Fatalf("result is %s from %v; want nova.objects.diagnostics.Diagnostics 1.0", res.class(), res["module"])
		}
		cpus, _ := res.fields()["cpu_details"].([]any)
		if len(cpus) != 2 || object(cpus[1].(map[string]any)).class() != "CpuDiagnostics 1.0" {
			t.Errorf("cpu_details = %v; want 2 CpuDiagnostics (the instance's vcpus)", cpus)
		}
		if mem := res.field("memory_details"); mem.class() != "MemoryDiagnostics 1.0" || mem.fields()["used"] != 256.0 {
			t.Errorf("memory_details = %v", mem)
		}
	})
	for _, tc := range []struct {
		level, version string
		encrypted      bool
	}{
		{"zed", "1.21", true},
		{"victoria", "1.20", false}, // compute 5.12: the 5.x endpoint, BDM pinned to 1.20
	} {
		t.Run("reserve_block_device_name pinned to "+tc.level, func(t *testing.T) {
			bdm := compute(t, n, "reserve_block_device_name", tc.level, d.hostA)
			if bdm.class() != "BlockDeviceMapping "+tc.version || bdm["module"] != "nova.objects.block_device" {
				t.Fatalf("result is %s from %v; want BlockDeviceMapping %s", bdm.class(), bdm["module"], tc.version)
			}
			f := bdm.fields()
			if f["device_name"] != "/dev/vdb" || f["volume_id"] != "vol-1" || f["disk_bus"] != "virtio" || f["boot_index"] != nil {
				t.Errorf("fields %v", f)
			}
			if _, ok := f["encrypted"]; ok != tc.encrypted {
				t.Errorf("encrypted set = %v; want %v (added in 1.21)", ok, tc.encrypted)
			}
			for _, c := range []string{"device_name", "instance", "instance_uuid", "volume_id", "boot_index"} {
				if !strings.Contains(strings.Join(bdm.changes(), " "), c) {
					t.Errorf("changes %v lack %s, which the plugin set", bdm.changes(), c)
				}
			}
			inst := bdm.field("instance")
			if inst.class() != "Instance 2.7" || inst["module"] != "nova.objects.instance" {
				t.Fatalf("instance is %s from %v", inst.class(), inst["module"])
			}
			if md, _ := inst.fields()["metadata"].(map[string]any); md["role"] != "db" || inst.fields()["root_device_name"] != "/dev/vda" {
				t.Errorf("instance fields the plugin does not declare were not kept: %v", inst.fields())
			}
			if len(inst.changes()) != 0 {
				t.Errorf("instance changes %v; the plugin changed nothing", inst.changes())
			}
			if fl := inst.field("flavor"); fl.class() != "Flavor 1.2" || fl.fields()["name"] != "m1.tiny" {
				t.Errorf("flavor %v", fl)
			}
		})
	}
}

// TestNewerInstance: a newer Nova sends Instance 2.8; the plugin (which
// knows 2.7) has it backported by that Nova's conductor through the host,
// or, without a conductor, fails with oslo.versionedobjects' own
// IncompatibleObjectVersion.
func TestNewerInstance(t *testing.T) {
	d := deploy(t)
	n := d.nova(t, true)

	res := compute(t, n, "get_console_output", "zed", d.hostA)
	if !strings.Contains(fmt.Sprint(res["value"]), "console of 2c5f1ab7-4c3b-4f8e-9d1a-3b2f5e7c9a11 (vm1)") {
		t.Errorf("get_console_output = %v", res["value"])
	}
	bp := do(t, n, map[string]any{"op": "backports"})
	list, _ := bp["result"].([]any)
	if len(list) != 1 {
		t.Fatalf("conductor backports = %v; want one", bp["result"])
	}
	b := list[0].(map[string]any)
	if b["name"] != "Instance" || b["version"] != "2.8" || b["object_versions"].(map[string]any)["Instance"] != "2.7" {
		t.Errorf("backport %v; want Instance 2.8 to 2.7", b)
	}
	// The backport went out with the caller's request context.
	if b["context_class"] != "RequestContext" || b["request_id"] != res["request_id"] || b["user_id"] != "u-alice" {
		t.Errorf("backport context %v; want the caller's (request_id %v)", b, res["request_id"])
	}

	r := do(t, n, map[string]any{"op": "compute", "method": "get_console_output", "upgrade_level": "zed", "instance_host": d.hostB})
	// oslo.messaging rebuilds an allowed remote exception as a subclass of
	// the real class (IncompatibleObjectVersion_Remote).
	if mro := fmt.Sprint(r["mro"]); r["ok"] != false || !strings.Contains(mro, "oslo_versionedobjects.exception.IncompatibleObjectVersion ") {
		t.Fatalf("without a conductor: %v; want an oslo_versionedobjects.exception.IncompatibleObjectVersion", r)
	}
	if kw, _ := r["kwargs"].(map[string]any); kw["objname"] != "Instance" || kw["objver"] != "2.8" || kw["supported"] != "2.7" {
		t.Errorf("kwargs %v", r["kwargs"])
	}
	if want := "Version 2.8 of Instance is not supported, supported version is 2.7"; !strings.HasPrefix(fmt.Sprint(r["msg"]), want) {
		t.Errorf("message %q; want %q", r["msg"], want)
	}
}

// TestVersionedNotification: nova's own notification code emits
// instance.create.end; the host's listener hands it to the compute
// plugin's handler, which reads the payload as a typed
// InstanceCreatePayload.
func TestVersionedNotification(t *testing.T) {
	d := deploy(t)
	n := d.nova(t, false)
	sent := do(t, n, map[string]any{"op": "notify_create", "instance_host": d.hostA})
	var got []any
	hostproc.WaitFor(t, 30*time.Second, "the plugin to read instance.create.end", func() bool {
		r := do(t, n, map[string]any{"op": "call", "topic": "compute", "server": d.hostA,
			"namespace": "compute_example", "version": "1.0", "method": "received"})
		got, _ = r["result"].([]any)
		return len(got) > 0
	})
	rec := got[0].(map[string]any)
	want := map[string]any{
		"event_type": "instance.create.end", "publisher_id": "nova-compute:" + d.hostA,
		"payload_version": "1.12", "uuid": sent["uuid"], "display_name": "vm1", "tenant_id": "p-demo",
		"state": "active", "flavor_name": "m1.tiny", "flavor_memory_mb": 512.0, "request_id": sent["request_id"],
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v; want %v", k, rec[k], v)
		}
	}
	if rec["launched_at"] == "" {
		t.Errorf("launched_at not read: %v", rec)
	}
}
