// Package nova declares the few Nova objects the compute example plugin
// uses, as versioned objects (package ovo): the fields it reads or sets, and
// the version each one arrived in where obj_make_compatible drops it.
// Fields a struct does not declare still go back as they arrived.
package nova

import (
	"time"

	"github.com/oslohost/oslohost/plugin/sdk/ovo"
)

// Objects is Nova's registry of the objects below ("nova_object" primitives).
var Objects = ovo.NewRegistry("nova_object",
	ovo.Object[Instance]("Instance", "nova", "2.7"),
	ovo.Object[Flavor]("Flavor", "nova", "1.2"),
	ovo.Object[BlockDeviceMapping]("BlockDeviceMapping", "nova", "1.21"),
	ovo.Object[Diagnostics]("Diagnostics", "nova", "1.0"),
	ovo.Object[CpuDiagnostics]("CpuDiagnostics", "nova", "1.0"),
	ovo.Object[NicDiagnostics]("NicDiagnostics", "nova", "1.0"),
	ovo.Object[DiskDiagnostics]("DiskDiagnostics", "nova", "1.0"),
	ovo.Object[MemoryDiagnostics]("MemoryDiagnostics", "nova", "1.0"),
	ovo.Object[InstanceCreatePayload]("InstanceCreatePayload", "nova", "1.12"),
	ovo.Object[FlavorPayload]("FlavorPayload", "nova", "1.4"),
)

// Instance is nova.objects.Instance.
type Instance struct {
	ovo.Base
	ID          int     `json:"id"`
	UUID        string  `json:"uuid"`
	UserID      *string `json:"user_id"`
	ProjectID   *string `json:"project_id"`
	DisplayName *string `json:"display_name"`
	Host        *string `json:"host"`
	Node        *string `json:"node"`
	VMState     *string `json:"vm_state"`
	TaskState   *string `json:"task_state"`
	PowerState  *int    `json:"power_state"`
	VCPUs       *int    `json:"vcpus"`
	MemoryMB    *int    `json:"memory_mb"`
	Flavor      *Flavor `json:"flavor"`
	Hidden      bool    `json:"hidden" ovo:"since=2.6"`
}

// Flavor is nova.objects.Flavor.
type Flavor struct {
	ovo.Base
	ID       int    `json:"id"`
	FlavorID string `json:"flavorid"`
	Name     string `json:"name"`
	MemoryMB int    `json:"memory_mb"`
	VCPUs    int    `json:"vcpus"`
}

// BlockDeviceMapping is nova.objects.BlockDeviceMapping.
type BlockDeviceMapping struct {
	ovo.Base
	UUID                string    `json:"uuid" ovo:"since=1.19"`
	InstanceUUID        string    `json:"instance_uuid"`
	Instance            *Instance `json:"instance"`
	SourceType          *string   `json:"source_type"`
	DestinationType     *string   `json:"destination_type"`
	DeviceType          *string   `json:"device_type"`
	DiskBus             *string   `json:"disk_bus"`
	BootIndex           *int      `json:"boot_index"`
	DeviceName          *string   `json:"device_name"`
	VolumeID            *string   `json:"volume_id"`
	Tag                 *string   `json:"tag" ovo:"since=1.17"`
	AttachmentID        *string   `json:"attachment_id" ovo:"since=1.18"`
	VolumeType          *string   `json:"volume_type" ovo:"since=1.20"`
	Encrypted           bool      `json:"encrypted" ovo:"since=1.21"`
	DeleteOnTermination bool      `json:"delete_on_termination"`
	CreatedAt           time.Time `json:"created_at"`
}

// Diagnostics is nova.objects.Diagnostics, what get_instance_diagnostics returns.
type Diagnostics struct {
	ovo.Base
	State         string             `json:"state"`
	Driver        string             `json:"driver"`
	Hypervisor    *string            `json:"hypervisor"`
	HypervisorOS  *string            `json:"hypervisor_os"`
	Uptime        *int               `json:"uptime"`
	ConfigDrive   bool               `json:"config_drive"`
	MemoryDetails *MemoryDiagnostics `json:"memory_details"`
	CPUDetails    []*CpuDiagnostics  `json:"cpu_details"`
	NICDetails    []*NicDiagnostics  `json:"nic_details"`
	DiskDetails   []*DiskDiagnostics `json:"disk_details"`
	NumCPUs       int                `json:"num_cpus"`
	NumNICs       int                `json:"num_nics"`
	NumDisks      int                `json:"num_disks"`
}

// CpuDiagnostics is nova.objects.CpuDiagnostics.
type CpuDiagnostics struct {
	ovo.Base
	ID          *int `json:"id"`
	Time        *int `json:"time"`
	Utilisation *int `json:"utilisation"`
}

// NicDiagnostics is nova.objects.NicDiagnostics.
type NicDiagnostics struct {
	ovo.Base
	MACAddress *string `json:"mac_address"`
	RxOctets   *int    `json:"rx_octets"`
	TxOctets   *int    `json:"tx_octets"`
}

// DiskDiagnostics is nova.objects.DiskDiagnostics.
type DiskDiagnostics struct {
	ovo.Base
	ReadBytes  *int `json:"read_bytes"`
	WriteBytes *int `json:"write_bytes"`
}

// MemoryDiagnostics is nova.objects.MemoryDiagnostics.
type MemoryDiagnostics struct {
	ovo.Base
	Maximum *int `json:"maximum"`
	Used    *int `json:"used"`
}

// InstanceCreatePayload is the payload of Nova's versioned notification
// instance.create.{start,end,error}
// (nova.notifications.objects.instance.InstanceCreatePayload).
type InstanceCreatePayload struct {
	ovo.Base
	UUID         string         `json:"uuid"`
	UserID       string         `json:"user_id"`
	TenantID     string         `json:"tenant_id"`
	DisplayName  string         `json:"display_name"`
	Host         *string        `json:"host"`
	State        string         `json:"state"`
	PowerState   string         `json:"power_state"`
	RequestID    *string        `json:"request_id"`
	Flavor       *FlavorPayload `json:"flavor"`
	InstanceName *string        `json:"instance_name"`
	Tags         []string       `json:"tags"`
	LaunchedAt   *time.Time     `json:"launched_at"`
}

// FlavorPayload is nova.notifications.objects.flavor.FlavorPayload.
type FlavorPayload struct {
	ovo.Base
	FlavorID string `json:"flavorid"`
	Name     string `json:"name"`
	MemoryMB int    `json:"memory_mb"`
	VCPUs    int    `json:"vcpus"`
}
