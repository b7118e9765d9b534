// Command compute is an oslohost plugin serving a few of Nova's
// compute-manager methods, as nova.compute.rpcapi.ComputeAPI (compute RPC
// API 6.x, Zed) calls them, with Nova's objects typed (package nova here,
// declared with plugin/sdk/ovo) and the request context typed
// (plugin/sdk/osloctx):
//
//	compute_rpcapi.get_console_output(ctxt, instance, tail_length=10)  # a str
//	compute_rpcapi.get_instance_diagnostics(ctxt, instance)            # a nova.objects.Diagnostics
//	compute_rpcapi.reserve_block_device_name(ctxt, instance, None, vol_id,
//	    'virtio', 'disk', None, False)                                 # a nova.objects.BlockDeviceMapping
//
// It serves them at version 6.1 and, like nova-compute's _ComputeV5Proxy,
// at 5.13 for callers pinned with [upgrade_levels] compute to an older
// release; those get the BlockDeviceMapping at 1.20, without the fields
// added since. An Instance newer than the plugin knows is backported by the
// conductor named in the config, or refused with IncompatibleObjectVersion.
//
// It also listens to Nova's versioned notifications: a listener of the host
// naming the handler "nova" hands it instance.create.end, which it reads as
// nova.InstanceCreatePayload; the endpoint "compute_example" 1.0 reports
// them (received()).
//
//	plugin "compute" {
//	  command = "./bin/plugins/compute"
//	  config  = { conductor_topic = "conductor" }   # omit: no backports
//	}
//	server "compute" {
//	  topic   = "compute"
//	  server  = "cmp1"          # the instances' host
//	  plugins = ["compute"]
//	}
//	listener "nova" {
//	  topics   = ["versioned_notifications"]
//	  handlers = ["compute:nova"]
//	}
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/osloctx"
	"github.com/oslohost/oslohost/plugin/sdk/ovo"
	"github.com/oslohost/oslohost/plugins/examples/compute/nova"
)

// Config is the plugin's config block.
type Config struct {
	// ConductorTopic names the conductor that backports objects newer than
	// the plugin knows; "" refuses them.
	ConductorTopic string `json:"conductor_topic"`
}

func main() {
	sdk.ServePlugin(&plugin{})
}

// plugin builds its endpoints from the config: the serializer needs the
// conductor's topic.
type plugin struct {
	compute  Compute
	recorder Recorder
}

func (p *plugin) Configure(_ context.Context, cfg sdk.Config) ([]sdk.Endpoint, error) {
	var c Config
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	ser := &ovo.Serializer{
		Registry: nova.Objects,
		// Callers pinned to compute 5.x (Victoria and older) read
		// BlockDeviceMapping 1.20 at most.
		Pins:     []ovo.Pin{{Below: "6.0", Objects: ovo.Manifest{"BlockDeviceMapping": "1.20"}}},
		Backport: sdk.Target{Topic: c.ConductorTopic, Version: "3.0"},
	}
	p.recorder.ser = ser
	return []sdk.Endpoint{
		{Version: "6.1", Impl: &p.compute, Serializer: ser},
		{Version: "5.13", Impl: &p.compute, Serializer: ser},
		{Namespace: "compute_example", Version: "1.0", Impl: &p.recorder},
	}, nil
}

func (p *plugin) NotificationHandlers() []sdk.Notifications {
	return []sdk.Notifications{{Name: "nova", Impl: &p.recorder, Serializer: p.recorder.ser}}
}

// Compute holds the compute-manager methods.
type Compute struct{}

// InstanceArgs are the arguments of methods taking only an instance.
type InstanceArgs struct {
	Instance *nova.Instance `json:"instance"`
}

// ConsoleArgs are get_console_output's arguments.
type ConsoleArgs struct {
	Instance   *nova.Instance `json:"instance"`
	TailLength *int           `json:"tail_length"`
}

// GetConsoleOutput returns a made-up console log naming the instance and
// the caller.
func (Compute) GetConsoleOutput(ctx context.Context, a ConsoleArgs) (string, error) {
	if a.Instance == nil {
		return "", sdk.TypeError("get_console_output() missing 1 required positional argument: 'instance'")
	}
	rc := osloctx.From(ctx)
	sdk.Logger(ctx).Info("get console output", "instance", a.Instance.UUID, "context", rc)
	return fmt.Sprintf("console of %s (%s) on %s, asked by %s/%s in %s",
		a.Instance.UUID, str(a.Instance.DisplayName), str(a.Instance.Host), rc.UserID, rc.ProjectID, rc.RequestID), nil
}

// GetInstanceDiagnostics returns the diagnostics of a running instance, as
// the fake virt driver would.
func (Compute) GetInstanceDiagnostics(ctx context.Context, a InstanceArgs) (*nova.Diagnostics, error) {
	if a.Instance == nil {
		return nil, sdk.TypeError("get_instance_diagnostics() missing 1 required positional argument: 'instance'")
	}
	const running = 1
	if a.Instance.PowerState == nil || *a.Instance.PowerState != running {
		e := sdk.NewRemoteError("nova.exception", "InstanceInvalidState",
			"Instance %s in power state %v. Cannot get_diagnostics while the instance is in this state.",
			a.Instance.UUID, powerState(a.Instance.PowerState))
		e.Kwargs = map[string]any{"attr": "power state", "instance_uuid": a.Instance.UUID,
			"state": powerState(a.Instance.PowerState), "method": "get_diagnostics"}
		return nil, sdk.Expected(e)
	}
	d := &nova.Diagnostics{
		State: "running", Driver: "libvirt", Hypervisor: ptr("oslohost"), Uptime: ptr(46664),
		MemoryDetails: &nova.MemoryDiagnostics{Maximum: ptr(512), Used: ptr(256)},
		NICDetails:    []*nova.NicDiagnostics{{MACAddress: ptr("fa:16:3e:00:00:01"), RxOctets: ptr(2070139), TxOctets: ptr(140208)}},
		DiskDetails:   []*nova.DiskDiagnostics{{ReadBytes: ptr(262144), WriteBytes: ptr(5778432)}},
	}
	vcpus := 1
	if a.Instance.VCPUs != nil {
		vcpus = *a.Instance.VCPUs
	}
	for i := range vcpus {
		d.CPUDetails = append(d.CPUDetails, &nova.CpuDiagnostics{ID: ptr(i), Time: ptr(17300000000), Utilisation: ptr(15)})
	}
	d.NumCPUs, d.NumNICs, d.NumDisks = len(d.CPUDetails), len(d.NICDetails), len(d.DiskDetails)
	d.ObjSet("config_drive") // false, but set: Diagnostics requires it
	return d, nil
}

// ReserveArgs are reserve_block_device_name's arguments.
type ReserveArgs struct {
	Instance    *nova.Instance `json:"instance"`
	Device      *string        `json:"device"`
	VolumeID    string         `json:"volume_id"`
	DiskBus     *string        `json:"disk_bus"`
	DeviceType  *string        `json:"device_type"`
	Tag         *string        `json:"tag"`
	Multiattach bool           `json:"multiattach"`
}

// ReserveBlockDeviceName reserves a device name for a volume and returns
// its new block device mapping, holding the instance.
func (Compute) ReserveBlockDeviceName(ctx context.Context, a ReserveArgs) (*nova.BlockDeviceMapping, error) {
	if a.Instance == nil {
		return nil, sdk.TypeError("reserve_block_device_name() missing 1 required positional argument: 'instance'")
	}
	if a.Multiattach {
		e := sdk.NewRemoteError("nova.exception", "MultiattachNotSupportedByVirtDriver",
			"Volume %s has 'multiattach' set, which is not supported for this instance.", a.VolumeID)
		e.Kwargs = map[string]any{"volume_id": a.VolumeID}
		return nil, sdk.Expected(e)
	}
	device := "/dev/vdb"
	if a.Device != nil && *a.Device != "" {
		device = *a.Device
	}
	bdm := &nova.BlockDeviceMapping{
		UUID: uuid4(), InstanceUUID: a.Instance.UUID, Instance: a.Instance,
		SourceType: ptr("volume"), DestinationType: ptr("volume"),
		DeviceName: &device, VolumeID: &a.VolumeID, DiskBus: a.DiskBus, DeviceType: a.DeviceType, Tag: a.Tag,
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	bdm.ObjSet("boot_index", "attachment_id", "encrypted") // None, None, False: set as nova does
	return bdm, nil
}

// Recorder reads Nova's versioned notifications typed and reports them.
type Recorder struct {
	ser *ovo.Serializer

	mu   sync.Mutex
	seen []Received
}

// Received is what the handler read of one instance.create.end.
type Received struct {
	EventType      string `json:"event_type"`
	PublisherID    string `json:"publisher_id"`
	PayloadVersion string `json:"payload_version"`
	UUID           string `json:"uuid"`
	DisplayName    string `json:"display_name"`
	TenantID       string `json:"tenant_id"`
	State          string `json:"state"`
	FlavorName     string `json:"flavor_name"`
	FlavorMemoryMB int    `json:"flavor_memory_mb"`
	RequestID      string `json:"request_id"`
	LaunchedAt     string `json:"launched_at"`
}

// Info handles info notifications; instance.create.end is read typed.
func (r *Recorder) Info(ctx context.Context, n sdk.Notification) error {
	if n.EventType != "instance.create.end" {
		return nil
	}
	var p nova.InstanceCreatePayload
	if err := n.DecodePayload(&p); err != nil {
		return err
	}
	rec := Received{EventType: n.EventType, PublisherID: n.PublisherID, PayloadVersion: p.ObjVersion(),
		UUID: p.UUID, DisplayName: p.DisplayName, TenantID: p.TenantID, State: p.State, RequestID: str(p.RequestID)}
	if p.Flavor != nil {
		rec.FlavorName, rec.FlavorMemoryMB = p.Flavor.Name, p.Flavor.MemoryMB
	}
	if p.LaunchedAt != nil {
		rec.LaunchedAt = p.LaunchedAt.UTC().Format(time.RFC3339)
	}
	sdk.Logger(ctx).Info("instance created", "uuid", p.UUID, "display_name", p.DisplayName)
	r.mu.Lock()
	r.seen = append(r.seen, rec)
	r.mu.Unlock()
	return nil
}

// Received returns the instance.create.end notifications read so far.
func (r *Recorder) Received(context.Context) ([]Received, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received{}, r.seen...), nil
}

func ptr[T any](v T) *T { return &v }

func str(s *string) string {
	if s == nil {
		return "None"
	}
	return *s
}

func powerState(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
