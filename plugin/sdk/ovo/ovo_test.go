package ovo_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/ovo"
)

type Flavor struct {
	ovo.Base
	FlavorID string `json:"flavorid"`
	MemoryMB int    `json:"memory_mb"`
}

type Instance struct {
	ovo.Base
	UUID        string  `json:"uuid"`
	Host        *string `json:"host"`
	DisplayName string  `json:"display_name"`
	Flavor      *Flavor `json:"flavor"`
	Hidden      bool    `json:"hidden" ovo:"since=2.6"`
	Extra       any     `json:"extra"`
}

type InstanceList struct {
	ovo.Base
	Objects []*Instance `json:"objects"`
}

var objects = ovo.NewRegistry("nova_object",
	ovo.Object[Flavor]("Flavor", "nova", "1.2"),
	ovo.Object[Instance]("Instance", "nova", "2.7"),
	ovo.Object[InstanceList]("InstanceList", "nova", "2.6"),
)

// A primitive as nova's Instance.obj_to_primitive() makes it (fields cut).
const instancePrim = `{"nova_object.name": "Instance", "nova_object.namespace": "nova",
 "nova_object.version": "2.7", "nova_object.changes": ["display_name"],
 "nova_object.data": {"uuid": "u-1", "host": null, "display_name": "vm", "hidden": false,
  "extra": {"big": 9007199254740993}, "vm_state": "active",
  "flavor": {"nova_object.name": "Flavor", "nova_object.namespace": "nova", "nova_object.version": "1.2",
   "nova_object.data": {"flavorid": "m1", "memory_mb": 512}}}}`

func primOf(t *testing.T, v any, m ovo.Manifest) map[string]any {
	t.Helper()
	b, err := objects.Marshal(v, m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func data(p map[string]any) map[string]any { return p["nova_object.data"].(map[string]any) }

func changes(p map[string]any) []string {
	var out []string
	for _, c := range p["nova_object.changes"].([]any) {
		out = append(out, c.(string))
	}
	return out
}

func TestRoundTripKeepsWhatArrived(t *testing.T) {
	var inst Instance
	if err := objects.Unmarshal([]byte(instancePrim), &inst); err != nil {
		t.Fatal(err)
	}
	if inst.UUID != "u-1" || inst.Host != nil || inst.Flavor == nil || inst.Flavor.MemoryMB != 512 || inst.ObjVersion() != "2.7" {
		t.Fatalf("decoded %+v", inst)
	}
	p := primOf(t, &inst, nil)
	if p["nova_object.version"] != "2.7" || p["nova_object.name"] != "Instance" || p["nova_object.namespace"] != "nova" {
		t.Fatalf("header %v", p)
	}
	d := data(p)
	if v, ok := d["host"]; !ok || v != nil {
		t.Errorf("host = %v, %v; want a null that arrived kept", v, ok)
	}
	if _, ok := d["hidden"]; !ok {
		t.Errorf("hidden (false, arrived) dropped")
	}
	if got := d["extra"].(map[string]any)["big"].(json.Number); got != "9007199254740993" {
		t.Errorf("big = %s", got)
	}
	if got := changes(p); !reflect.DeepEqual(got, []string{"display_name"}) {
		t.Errorf("changes = %v; want the arrived [display_name]", got)
	}
	if d["vm_state"] != "active" {
		t.Errorf("undeclared field vm_state = %v; want it back as it arrived", d["vm_state"])
	}
	if _, ok := data(p)["flavor"].(map[string]any)["nova_object.changes"]; ok {
		t.Errorf("unchanged flavor has changes")
	}
}

func TestChangesTrackWhatThePluginSets(t *testing.T) {
	var inst Instance
	if err := objects.Unmarshal([]byte(instancePrim), &inst); err != nil {
		t.Fatal(err)
	}
	host := "cmp1"
	inst.Host = &host
	inst.Flavor.MemoryMB = 1024
	p := primOf(t, &inst, nil)
	if got := changes(p); !reflect.DeepEqual(got, []string{"display_name", "flavor", "host"}) {
		t.Errorf("changes = %v; want [display_name flavor host]", got)
	}
	if got := changes(data(p)["flavor"].(map[string]any)); !reflect.DeepEqual(got, []string{"memory_mb"}) {
		t.Errorf("flavor changes = %v", got)
	}
}

func TestResetChanges(t *testing.T) {
	var inst Instance
	if err := objects.Unmarshal([]byte(instancePrim), &inst); err != nil {
		t.Fatal(err)
	}
	inst.DisplayName = "before reset"
	if err := objects.ResetChanges(&inst); err != nil {
		t.Fatal(err)
	}
	p := primOf(t, &inst, nil)
	if _, ok := p["nova_object.changes"]; ok || data(p)["display_name"] != "before reset" || data(p)["vm_state"] != "active" {
		t.Fatalf("after reset: %v", p)
	}
	inst.Hidden = true
	if got := changes(primOf(t, &inst, nil)); !reflect.DeepEqual(got, []string{"hidden"}) {
		t.Errorf("changes after reset = %v; want [hidden]", got)
	}
	fresh := &Instance{UUID: "u-3"}
	if err := objects.ResetChanges(fresh); err != nil {
		t.Fatal(err)
	}
	p = primOf(t, fresh, nil)
	if _, ok := p["nova_object.changes"]; ok || data(p)["uuid"] != "u-3" || len(data(p)) != 1 {
		t.Errorf("fresh object after reset: %v", p)
	}
	if err := objects.ResetChanges(Instance{}); err == nil {
		t.Errorf("ResetChanges of a value: no error")
	}
}

func TestNewObject(t *testing.T) {
	inst := &Instance{UUID: "u-2", DisplayName: "new"}
	inst.ObjSet("host")
	p := primOf(t, inst, nil)
	d := data(p)
	if _, ok := d["flavor"]; ok {
		t.Errorf("unset flavor sent: %v", d)
	}
	if v, ok := d["host"]; !ok || v != nil {
		t.Errorf("host marked set = %v, %v; want null", v, ok)
	}
	if got := changes(p); !reflect.DeepEqual(got, []string{"display_name", "host", "uuid"}) {
		t.Errorf("changes = %v", got)
	}
}

func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prim     string
		manifest ovo.Manifest
		want     string
		hidden   bool // hidden (since 2.6) still sent
	}{
		{"current", instancePrim, nil, "2.7", true},
		{"manifest caps", instancePrim, ovo.Manifest{"Instance": "2.5"}, "2.5", false},
		{"manifest newer than the object", instancePrim, ovo.Manifest{"Instance": "2.9"}, "2.7", true},
		{"goes back as it came", strings.Replace(instancePrim, `"2.7"`, `"2.5"`, 1), nil, "2.5", false},
		{"patch level accepted", strings.Replace(instancePrim, `"2.7"`, `"2.7.1"`, 1), nil, "2.7", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inst Instance
			if err := objects.Unmarshal([]byte(tc.prim), &inst); err != nil {
				t.Fatal(err)
			}
			p := primOf(t, &inst, tc.manifest)
			if p["nova_object.version"] != tc.want {
				t.Errorf("version = %v; want %s", p["nova_object.version"], tc.want)
			}
			if _, ok := data(p)["hidden"]; ok != tc.hidden {
				t.Errorf("hidden sent = %v; want %v", ok, tc.hidden)
			}
		})
	}
}

func TestNewerObjectIsIncompatible(t *testing.T) {
	for _, ver := range []string{"2.8", "3.0", "1.9"} {
		prim := strings.Replace(instancePrim, `"2.7"`, `"`+ver+`"`, 1)
		var inst Instance
		err := objects.Unmarshal([]byte(prim), &inst)
		var re *sdk.RemoteError
		if !errors.As(err, &re) || re.Module != "oslo_versionedobjects.exception" || re.Class != "IncompatibleObjectVersion" {
			t.Fatalf("%s: err = %v; want IncompatibleObjectVersion", ver, err)
		}
		if want := "Version " + ver + " of Instance is not supported, supported version is 2.7"; re.Message != want {
			t.Errorf("message %q; want %q", re.Message, want)
		}
	}
}

func TestSerializerBackportsThroughConductor(t *testing.T) {
	// Without a host the serializer cannot reach a conductor: the error says so.
	ser := &ovo.Serializer{Registry: objects, Backport: sdk.Target{Topic: "conductor"}}
	_, err := ser.DeserializeEntity(context.Background(), json.RawMessage(`{"instance": `+strings.Replace(instancePrim, `"2.7"`, `"2.8"`, 1)+`}`))
	if !errors.Is(err, sdk.ErrNoHost) {
		t.Fatalf("err = %v; want ErrNoHost", err)
	}
}

func TestListsAndArgs(t *testing.T) {
	list := `{"nova_object.name": "InstanceList", "nova_object.namespace": "nova", "nova_object.version": "2.6",
	  "nova_object.data": {"objects": [` + instancePrim + `,` + instancePrim + `]}}`
	var args struct {
		Instances InstanceList `json:"instances"`
		Raw       any          `json:"raw"`
	}
	in := `{"instances": ` + list + `, "raw": {"nova_object.name": "Other", "nova_object.namespace": "nova", "nova_object.version": "1.0", "nova_object.data": {}}}`
	if err := objects.Unmarshal([]byte(in), &args); err != nil {
		t.Fatal(err)
	}
	if len(args.Instances.Objects) != 2 || args.Instances.Objects[1].Flavor.FlavorID != "m1" {
		t.Fatalf("decoded %+v", args.Instances)
	}
	if args.Raw.(map[string]any)["nova_object.name"] != "Other" {
		t.Errorf("an undeclared object's primitive is not left as it is: %v", args.Raw)
	}
	args.Instances.Objects[0].DisplayName = "renamed"
	p := primOf(t, &args, nil)["instances"].(map[string]any)
	if got := changes(p); !reflect.DeepEqual(got, []string{"objects"}) {
		t.Errorf("list changes = %v", got)
	}
	objs := data(p)["objects"].([]any)
	if got := changes(objs[0].(map[string]any)); !reflect.DeepEqual(got, []string{"display_name"}) {
		t.Errorf("first instance changes = %v", got)
	}
}

func TestObjectDeclarationErrors(t *testing.T) {
	type noBase struct{ A int }
	for name, f := range map[string]func(){
		"no Base":     func() { ovo.Object[noBase]("X", "nova", "1.0") },
		"bad version": func() { ovo.Object[Flavor]("X", "nova", "one") },
		"duplicate": func() {
			ovo.NewRegistry("nova_object", ovo.Object[Flavor]("F", "nova", "1.0"), ovo.Object[Flavor]("G", "nova", "1.0"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		})
	}
}

func TestObjectInAnUntypedPlaceGoesBackAsItCame(t *testing.T) {
	var args map[string]any
	if err := objects.Unmarshal([]byte(`{"instance": `+instancePrim+`}`), &args); err != nil {
		t.Fatal(err)
	}
	p := primOf(t, args, nil)["instance"].(map[string]any)
	var want map[string]any
	dec := json.NewDecoder(strings.NewReader(instancePrim))
	dec.UseNumber()
	_ = dec.Decode(&want)
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %v\nwant %v", p, want)
	}
}
