package config

import (
	"encoding/json"

	"github.com/hashicorp/hcl/v2"
)

// Config is a loaded, validated configuration with every default applied.
// It is plain data: safe for concurrent reads, not for concurrent writes.
type Config struct {
	Transport Transport   `json:"transport"`
	Host      Host        `json:"host"`
	Executors []*Executor `json:"executors"`
	Plugins   []*Plugin   `json:"plugins"`
	Servers   []*Server   `json:"servers"`
	Listeners []*Listener `json:"listeners"`
	Admin     Admin       `json:"admin"`
	Log       Log         `json:"log"`
	// Telemetry is nil without a telemetry block (nothing is traced).
	Telemetry *Telemetry `json:"telemetry,omitempty"`

	// Files holds the parsed sources by file name, for WriteDiagnostics.
	Files map[string]*hcl.File `json:"-"`
}

// Source records where a block was declared.
type Source struct {
	// Range is the block's header, e.g. `plugin "calc"`; zero for implicit blocks.
	Range hcl.Range
	// Attrs maps each attribute present in the block to its range (`name = value`).
	Attrs map[string]hcl.Range
}

// AttrRange returns the range of the named attribute, or the block's range
// when the attribute was not written.
func (s Source) AttrRange(name string) hcl.Range {
	if r, ok := s.Attrs[name]; ok {
		return r
	}
	return s.Range
}

// Transport is the `transport` block: how to reach the broker.
type Transport struct {
	Source `json:"-"`
	// URL is an oslo transport_url, e.g. rabbit://u:p@h1:5672,u:p@h2:5672/vhost.
	URL             string   `json:"url"`
	ControlExchange string   `json:"control_exchange"`
	TLS             *TLS     `json:"tls,omitempty"`
	QuorumQueues    bool     `json:"quorum_queues"`
	Heartbeat       Duration `json:"heartbeat"`
	// Prefetch is the consumer prefetch count; 0 means the executor's capacity.
	Prefetch int `json:"prefetch"`
	// Rabbit are the oslo_messaging_rabbit attribute's options, by their
	// oslo names ([oslo_messaging_rabbit] of a Python service's config),
	// in name order; the URL's query overrides them.
	Rabbit []RabbitOption `json:"oslo_messaging_rabbit,omitempty"`
}

// RabbitOption is one [oslo_messaging_rabbit] option, its value as
// oslo.config reads it from a file.
type RabbitOption struct {
	Name  string    `json:"name"`
	Value string    `json:"value"`
	Range hcl.Range `json:"-"`
}

// TLS is the optional `tls` block inside `transport`; its presence enables TLS.
type TLS struct {
	Source             `json:"-"`
	CAFile             string `json:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
}

// Host is the `host` block: process-wide limits.
type Host struct {
	Source `json:"-"`
	// ShutdownTimeout bounds a graceful shutdown (drain, stop plugins, close).
	ShutdownTimeout Duration `json:"shutdown_timeout"`
	// DrainTimeout bounds how long an old plugin generation may finish, after
	// a hot swap, the in-flight calls whose caller set no deadline (casts,
	// calls without a timeout).
	DrainTimeout Duration `json:"drain_timeout"`
	// DrainCeiling bounds how long an old generation keeps the calls that
	// have a deadline (the caller's timeout): each runs until its deadline
	// or until this long after the swap, whichever comes first.
	DrainCeiling Duration `json:"drain_ceiling"`
	// MaxDraining bounds the old generations of one plugin still finishing
	// calls at once; a swap that would exceed it is queued.
	MaxDraining int `json:"max_draining"`
	// Probation is how long a swapped-in generation must stay up; if it
	// dies within it, the host rolls back to the previous generation, kept
	// alive (not serving) until then.
	Probation Duration `json:"probation"`
	// DedupWindow is how long a server or listener remembers a message's
	// _unique_id at least (a call also for its own timeout), to drop
	// duplicates; DedupMaxIDs bounds the ids remembered per block.
	DedupWindow Duration `json:"dedup_window"`
	DedupMaxIDs int      `json:"dedup_max_ids"`
	// MaxMessageSize is the default cap, in bytes, on messages exchanged with plugins.
	MaxMessageSize int `json:"max_message_size"`
	// GOMAXPROCS is the Go processors of the host and of the plugins it
	// starts (unless a plugin's env sets GOMAXPROCS); 0 lets the host
	// decide from the CPUs it may use (see `oslohost run --help`).
	GOMAXPROCS int `json:"gomaxprocs,omitempty"`
}

// ExecutorKind names an executor implementation.
type ExecutorKind string

// The executor kinds.
const (
	ExecutorPool     ExecutorKind = "pool"     // up to Workers messages at once
	ExecutorBlocking ExecutorKind = "blocking" // one message at a time, in order
)

// DefaultExecutor is the executor servers and listeners use when they name none.
// It is declared implicitly (pool, 64 workers) unless the configuration declares it.
const DefaultExecutor = "default"

// Executor is an `executor "NAME"` block.
type Executor struct {
	Source  `json:"-"`
	Name    string       `json:"name"`
	Kind    ExecutorKind `json:"kind"`
	Workers int          `json:"workers"`
	// Implicit is true for the default executor when no block declared it.
	Implicit bool `json:"implicit,omitempty"`
}

// Plugin is a `plugin "NAME"` block: a go-plugin binary serving endpoints.
type Plugin struct {
	Source  `json:"-"`
	Name    string   `json:"name"`
	Command string   `json:"command"` // as written; relative paths are the host's to resolve
	Args    []string `json:"args"`
	// Env is the plugin's whole environment, besides what the host must set.
	Env map[string]string `json:"env"`
	// SHA256 is the pinned checksum of Command, lower-case hex, or empty.
	SHA256 string `json:"sha256,omitempty"`
	// Config is the `config` object as JSON, handed to the plugin; nil when absent.
	Config         json.RawMessage `json:"config,omitempty"`
	Watch          bool            `json:"watch"`
	StartTimeout   Duration        `json:"start_timeout"`
	MaxMessageSize int             `json:"max_message_size"`
	// DrainCeiling and Probation, when set, override the host block's for
	// this plugin: the ceiling of its old generations' drains, and the
	// probation of its new ones.
	DrainCeiling *Duration `json:"drain_ceiling,omitempty"`
	Probation    *Duration `json:"probation,omitempty"`
}

// Server is a `server "NAME"` block: an RPC server on a topic.
type Server struct {
	Source   `json:"-"`
	Name     string   `json:"name"`
	Topic    string   `json:"topic"`
	Server   string   `json:"server"`
	Exchange string   `json:"exchange"`
	Executor string   `json:"executor"`
	Plugins  []string `json:"plugins"`
	// Fanout makes the server also consume from the topic's fanout exchange.
	Fanout bool `json:"fanout"`
	// CallTimeout bounds one call to a plugin (the caller's own deadline
	// applies too, whichever comes first); 0 is none.
	CallTimeout Duration `json:"call_timeout"`
}

// Priorities lists the notification priorities oslo.messaging knows, in
// order; a listener without "priorities" gets them all. Do not modify it.
var Priorities = []string{"audit", "debug", "info", "warn", "error", "critical", "sample"}

// Listener is a `listener "NAME"` block: a notification listener.
type Listener struct {
	Source     `json:"-"`
	Name       string   `json:"name"`
	Topics     []string `json:"topics"`
	Exchange   string   `json:"exchange"`
	Priorities []string `json:"priorities"`
	Pool       string   `json:"pool,omitempty"`
	// EventTypes and PublisherIDs are regular expressions (RE2 syntax), all valid.
	EventTypes   []string `json:"event_types,omitempty"`
	PublisherIDs []string `json:"publisher_ids,omitempty"`
	Executor     string   `json:"executor"`
	Plugins      []string `json:"plugins"`
	// AllowRequeue (default true, unlike oslo's listener) lets a plugin's
	// requeue, or a plugin crash mid-handling, put the notification back;
	// false acks (drops) it with a warning, as oslo does by default.
	AllowRequeue bool   `json:"allow_requeue"`
	MaxRequeues  int    `json:"max_requeues"`
	Batch        *Batch `json:"batch,omitempty"`
}

// Batch is the optional `batch` block of a listener.
type Batch struct {
	Source  `json:"-"`
	Size    int      `json:"size"`
	Timeout Duration `json:"timeout"`
}

// Admin is the `admin` block: the HTTP admin API.
type Admin struct {
	Source `json:"-"`
	// Listen is the address to serve on: 127.0.0.1:9464 when the block
	// omits it; empty disables the admin API. Without an admin block there
	// is no admin API.
	Listen string `json:"listen"`
	// Token, when set, is required as a bearer token on mutating requests.
	Token string `json:"token,omitempty"`
}

// Log is the `log` block.
type Log struct {
	Source `json:"-"`
	Level  string `json:"level"`  // trace, debug, info, warn or error
	Format string `json:"format"` // text or json
}

// Executor returns the named executor, or nil.
func (c *Config) Executor(name string) *Executor {
	for _, e := range c.Executors {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Plugin returns the named plugin, or nil.
func (c *Config) Plugin(name string) *Plugin {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p
		}
	}
	return nil
}
