package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// instancePrimitive is nova's Instance.obj_to_primitive() of a small
// instance (testdata/instance.json, made with python3-nova, Zed).
func instancePrimitive(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/instance.json")
	if err != nil {
		t.Fatal(err)
	}
	// UseNumber: sdktest sends a float64 as a Python float (1.0), so the
	// file's integers must stay integers on their way to the plugin.
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func call(t *testing.T, h *sdktest.Harness, method, version string, args any) (map[string]any, error) {
	t.Helper()
	var res map[string]any
	err := h.Call(context.Background(), method, args, &res, sdktest.Version(version),
		sdktest.Context(map[string]any{"user": "u1", "project_id": "p1", "request_id": "req-1", "auth_token": "tok"}))
	return res, err
}

func TestReserveBlockDeviceName(t *testing.T) {
	h := sdktest.NewPlugin(t, &plugin{})
	for _, tc := range []struct {
		version, want string
		encrypted     bool
	}{
		{"6.0", "1.21", true},
		{"5.0", "1.20", false}, // pinned: fields since 1.21 dropped
	} {
		t.Run(tc.version, func(t *testing.T) {
			res, err := call(t, h, "reserve_block_device_name", tc.version, map[string]any{
				"instance": instancePrimitive(t), "device": nil, "volume_id": "vol-1", "disk_bus": "virtio",
				"device_type": "disk", "tag": nil, "multiattach": false})
			if err != nil {
				t.Fatal(err)
			}
			if res["nova_object.name"] != "BlockDeviceMapping" || res["nova_object.version"] != tc.want {
				t.Fatalf("got %s %s; want BlockDeviceMapping %s", res["nova_object.name"], res["nova_object.version"], tc.want)
			}
			data := res["nova_object.data"].(map[string]any)
			if _, ok := data["encrypted"]; ok != tc.encrypted {
				t.Errorf("encrypted sent = %v; want %v", ok, tc.encrypted)
			}
			if data["device_name"] != "/dev/vdb" || data["boot_index"] != nil {
				t.Errorf("data %v", data)
			}
			inst := data["instance"].(map[string]any)
			// Compared as JSON: the file's numbers are json.Number, the reply's float64.
			got, _ := json.Marshal(inst)
			want, _ := json.Marshal(instancePrimitive(t))
			if string(got) != string(want) {
				t.Errorf("instance changed on the way back:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestInstanceNewerThanKnown(t *testing.T) {
	h := sdktest.NewPlugin(t, &plugin{})
	inst := instancePrimitive(t)
	inst["nova_object.version"] = "2.8"
	_, err := call(t, h, "get_console_output", "6.0", map[string]any{"instance": inst, "tail_length": 10})
	var re *sdk.RemoteError
	if !errors.As(err, &re) || re.Module != "oslo_versionedobjects.exception" || re.Class != "IncompatibleObjectVersion" {
		t.Fatalf("err = %v; want IncompatibleObjectVersion", err)
	}
}

func TestDiagnostics(t *testing.T) {
	h := sdktest.NewPlugin(t, &plugin{})
	res, err := call(t, h, "get_instance_diagnostics", "6.0", map[string]any{"instance": instancePrimitive(t)})
	if err != nil {
		t.Fatal(err)
	}
	data := res["nova_object.data"].(map[string]any)
	cpus := data["cpu_details"].([]any)
	if len(cpus) != 2 || cpus[1].(map[string]any)["nova_object.name"] != "CpuDiagnostics" || data["config_drive"] != false {
		t.Errorf("diagnostics %v", res)
	}
}

// conductor answers object_backport_versions as nova-conductor does, with
// the object at the manifest's version.
type conductor struct {
	pluginv1.UnimplementedHostServer
	got chan *pluginv1.HostCallRequest
}

func (c *conductor) Call(_ context.Context, req *pluginv1.HostCallRequest) (*pluginv1.HostCallResponse, error) {
	c.got <- req
	var args struct {
		Objinst  map[string]any    `json:"objinst"`
		Versions map[string]string `json:"object_versions"`
	}
	if err := json.Unmarshal(req.GetArgsJson(), &args); err != nil {
		return nil, err
	}
	args.Objinst["nova_object.version"] = args.Versions["Instance"]
	delete(args.Objinst["nova_object.data"].(map[string]any), "future_field")
	res, _ := json.Marshal(args.Objinst)
	return &pluginv1.HostCallResponse{Outcome: &pluginv1.HostCallResponse_ResultJson{ResultJson: res}}, nil
}

func TestInstanceBackportedByTheConductor(t *testing.T) {
	cond := &conductor{got: make(chan *pluginv1.HostCallRequest, 1)}
	h := sdktest.NewPlugin(t, &plugin{}, sdktest.WithHost(cond))
	if err := h.Configure(map[string]any{"conductor_topic": "conductor"}); err != nil {
		t.Fatal(err)
	}
	inst := instancePrimitive(t)
	inst["nova_object.version"] = "2.8"
	inst["nova_object.data"].(map[string]any)["future_field"] = "x"
	var out string
	err := h.Call(context.Background(), "get_console_output", map[string]any{"instance": inst, "tail_length": nil}, &out,
		sdktest.Version("6.0"), sdktest.Context(map[string]any{"request_id": "req-9"}))
	if err != nil {
		t.Fatal(err)
	}
	req := <-cond.got
	if tg := req.GetTarget(); tg.GetTopic() != "conductor" || tg.GetVersion() != "3.0" || req.GetMethod() != "object_backport_versions" {
		t.Errorf("backport sent to %v %s", tg, req.GetMethod())
	}
	if !strings.Contains(string(req.GetContextJson()), `"request_id":"req-9"`) {
		t.Errorf("backport context %s; want the caller's", req.GetContextJson())
	}
	if !strings.Contains(out, "console of 2c5f1ab7-4c3b-4f8e-9d1a-3b2f5e7c9a11 (vm1-renamed)") {
		t.Errorf("get_console_output = %q", out)
	}
}
