package rabbit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// osloRabbitOptions are the names oslo.messaging 14.0.3 registers in
// [oslo_messaging_rabbit] (rabbit_opts, amqp_opts, base_opts) and the
// deprecated names oslo.config resolves there, with a valid value each.
var osloRabbitOptions = map[string]string{
	"ssl": "true", "ssl_version": "TLSv1_2", "ssl_key_file": "/k", "ssl_cert_file": "/c", "ssl_ca_file": "/ca",
	"ssl_enforce_hostname_verification": "false", "ssl_enforce_fips_mode": "true", "heartbeat_in_pthread": "true",
	"kombu_reconnect_delay": "0.5", "kombu_compression": "gzip", "kombu_missing_consumer_retry_timeout": "30",
	"kombu_failover_strategy": "shuffle", "rabbit_login_method": "PLAIN", "rabbit_retry_interval": "2",
	"rabbit_retry_backoff": "3", "rabbit_interval_max": "10", "rabbit_ha_queues": "true", "rabbit_quorum_queue": "true",
	"rabbit_quorum_delivery_limit": "3", "rabbit_quroum_max_memory_length": "4", "rabbit_quroum_max_memory_bytes": "5",
	"rabbit_transient_queues_ttl": "60", "rabbit_qos_prefetch_count": "10", "heartbeat_timeout_threshold": "30",
	"heartbeat_rate": "3", "direct_mandatory_flag": "false", "enable_cancel_on_failover": "true",
	"amqp_durable_queues": "true", "amqp_auto_delete": "true",
	"rpc_conn_pool_size": "10", "conn_pool_min_size": "1", "conn_pool_ttl": "60",
	// Added by 16.1.0.
	"rabbit_transient_quorum_queue": "true", "rabbit_stream_fanout": "true", "use_queue_manager": "true",
	"hostname": "node1", "processname": "nova-api", "kombu_reconnect_splay": "0.5",
	// Deprecated names and the 14.3.0 spelling.
	"rabbit_use_ssl": "true", "kombu_ssl_version": "TLSv1", "kombu_ssl_keyfile": "/k", "kombu_ssl_certfile": "/c",
	"kombu_ssl_ca_certs": "/ca", "kombu_reconnect_timeout": "30",
	"rabbit_quorum_max_memory_length": "4", "rabbit_quorum_max_memory_bytes": "5",
}

func TestSetAcceptsEveryOsloOption(t *testing.T) {
	for name, value := range osloRabbitOptions {
		t.Run(name, func(t *testing.T) {
			o := DefaultOptions()
			if err := o.Set(name, value); err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(o, DefaultOptions()) {
				t.Errorf("Set(%q, %q) changed nothing", name, value)
			}
		})
	}
	for name := range optionSetters {
		if _, ok := osloRabbitOptions[name]; !ok {
			t.Errorf("option %s is not an oslo option", name)
		}
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	want := Options{
		TransientQueuesTTL: 1800 * time.Second, DirectMandatoryFlag: true, MissingConsumerRetryTimeout: time.Minute,
		HeartbeatTimeout: time.Minute, HeartbeatRate: 2, RetryInterval: time.Second, RetryBackoff: 2 * time.Second,
		IntervalMax: 30 * time.Second, ReconnectDelay: time.Second, FailoverStrategy: "round-robin",
		LoginMethod: "AMQPLAIN", SSLVerifyHostname: true, ConnPoolSize: 30, ConnPoolMinSize: 2, ConnPoolTTL: 1200 * time.Second,
	}
	want.Hostname, _ = os.Hostname()
	want.ProcessName = filepath.Base(os.Args[0])
	if o != want {
		t.Errorf("DefaultOptions() = %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestSetValues(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(o Options) bool
	}{
		{"amqp_durable_queues", "TRUE", func(o Options) bool { return o.DurableQueues }},
		{"amqp_durable_queues", "Yes", func(o Options) bool { return o.DurableQueues }},
		{"amqp_durable_queues", "on", func(o Options) bool { return o.DurableQueues }},
		{"amqp_durable_queues", "1", func(o Options) bool { return o.DurableQueues }},
		{"direct_mandatory_flag", "False", func(o Options) bool { return !o.DirectMandatoryFlag }},
		{"direct_mandatory_flag", "NO", func(o Options) bool { return !o.DirectMandatoryFlag }},
		{"direct_mandatory_flag", "off", func(o Options) bool { return !o.DirectMandatoryFlag }},
		{"direct_mandatory_flag", "0", func(o Options) bool { return !o.DirectMandatoryFlag }},
		{"rabbit_qos_prefetch_count", " 5 ", func(o Options) bool { return o.PrefetchCount == 5 }},
		{"rabbit_qos_prefetch_count", "+7", func(o Options) bool { return o.PrefetchCount == 7 }},
		{"heartbeat_timeout_threshold", "0", func(o Options) bool { return o.HeartbeatTimeout == 0 }},
		{"kombu_reconnect_delay", "0.25", func(o Options) bool { return o.ReconnectDelay == 250*time.Millisecond }},
		{"kombu_reconnect_delay", "4.5", func(o Options) bool { return o.ReconnectDelay == 4500*time.Millisecond }},
		{"rabbit_transient_queues_ttl", "0", func(o Options) bool { return o.TransientQueuesTTL == 0 }},
		{"kombu_reconnect_timeout", "5", func(o Options) bool { return o.MissingConsumerRetryTimeout == 5*time.Second }},
		{"rabbit_use_ssl", "true", func(o Options) bool { return o.SSL }},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			o := DefaultOptions()
			if err := o.Set(tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("unexpected options %+v", o)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct{ key, value, want string }{
		{"control_exchange", "x", "no such option control_exchange in group [oslo_messaging_rabbit]"},
		{"SSL", "true", "no such option SSL in group [oslo_messaging_rabbit]"},
		{"amqp_durable_queues", "maybe", `invalid value "maybe" for option amqp_durable_queues: not a boolean`},
		{"amqp_durable_queues", " yes ", `invalid value " yes " for option amqp_durable_queues`},
		{"amqp_durable_queues", "", `invalid value "" for option amqp_durable_queues`},
		{"rabbit_qos_prefetch_count", "1.0", `invalid value "1.0" for option rabbit_qos_prefetch_count: not an integer`},
		{"rpc_conn_pool_size", "0", "should be greater than or equal to 1"},
		{"rabbit_transient_queues_ttl", "-5", "should be greater than or equal to 0"},
		{"heartbeat_timeout_threshold", "99999999999999999", "out of range"},
		{"kombu_reconnect_delay", "5", "should be between 0 and 4.5"},
		{"kombu_reconnect_delay", "nan", "not a number"},
		{"kombu_failover_strategy", "Shuffle", "valid values are [round-robin, shuffle]"},
		{"rabbit_login_method", "plain", "valid values are [PLAIN, AMQPLAIN, EXTERNAL, RABBIT-CR-DEMO]"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			o := DefaultOptions()
			err := o.Set(tt.key, tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Set(%q, %q) = %v, want error containing %q", tt.key, tt.value, err, tt.want)
			}
			if o != DefaultOptions() {
				t.Errorf("failed Set changed the options: %+v", o)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(o *Options)
		want   string // "" means valid
	}{
		{"quorum", func(o *Options) { o.QuorumQueue = true }, ""},
		{"ha", func(o *Options) { o.HAQueues = true }, ""},
		{"quorum and ha", func(o *Options) { o.QuorumQueue, o.HAQueues = true, true },
			"rabbit_quorum_queue and rabbit_ha_queues both enabled"},
		{"pool smaller than min", func(o *Options) { o.ConnPoolSize = 1 },
			"rpc_conn_pool_size: 1 must be greater than or equal to conn_pool_min_size: 2"},
		{"ssl version", func(o *Options) { o.SSL, o.SSLVersion = true, "tlsv1_2" }, ""},
		{"bad ssl version", func(o *Options) { o.SSL, o.SSLVersion = true, "TLSv9" }, `invalid ssl_version "TLSv9"`},
		{"bad ssl version without ssl", func(o *Options) { o.SSLVersion = "TLSv9" }, ""},
		{"bad compression", func(o *Options) { o.Compression = "gzip,bz2" }, "kombu_compression"},
		{"prefetch too big", func(o *Options) { o.PrefetchCount = 70000 }, "basic.qos takes at most 65535"},
		{"explicit prefetch 0", func(o *Options) { o.PrefetchSet = true }, ""},
		{"negative prefetch is no qos, as oslo", func(o *Options) { o.PrefetchCount, o.PrefetchSet = -1, true }, ""},
		// Combinations 16.1.0 refuses (impl_rabbit.Connection, _get_queue_arguments).
		{"transient quorum", func(o *Options) { o.TransientQuorumQueue = true }, ""},
		{"transient quorum and ha", func(o *Options) { o.TransientQuorumQueue, o.HAQueues = true, true },
			"rabbit_transient_quorum_queue and rabbit_ha_queues both enabled"},
		{"stream fanout", func(o *Options) {
			o.StreamFanout, o.TransientQuorumQueue, o.PrefetchCount, o.PrefetchSet = true, true, 10, true
		}, ""},
		{"stream fanout without prefetch", func(o *Options) { o.StreamFanout, o.TransientQuorumQueue = true, true },
			"rabbit_stream_fanout need rabbit_qos_prefetch_count to be set to a value greater than 0"},
		{"stream fanout with prefetch 0", func(o *Options) { o.StreamFanout, o.TransientQuorumQueue, o.PrefetchSet = true, true, true },
			"rabbit_stream_fanout need rabbit_qos_prefetch_count"},
		{"stream fanout without transient quorum", func(o *Options) { o.StreamFanout, o.PrefetchCount, o.PrefetchSet = true, 5, true },
			"rabbit_stream_fanout need rabbit_transient_quorum_queue to be set to true"},
		{"queue manager", func(o *Options) { o.UseQueueManager = true }, ""},
		{"queue manager without processname", func(o *Options) { o.UseQueueManager, o.ProcessName = true, "" }, "use_queue_manager needs"},
		{"negative delivery limit", func(o *Options) { o.QuorumDeliveryLimit = -1 }, "rabbit_quorum_delivery_limit must not be negative"},
		{"ttl beyond x-expires", func(o *Options) { o.TransientQueuesTTL = 3000000 * time.Second }, "too long for x-expires"},
		// Options oslohost does not honour, refused by name unless at oslo's default.
		{"compression", func(o *Options) { o.Compression = "gzip" }, "kombu_compression = gzip is not supported by oslohost"},
		{"login external", func(o *Options) { o.LoginMethod = "EXTERNAL" }, "rabbit_login_method = EXTERNAL is not supported"},
		{"login plain", func(o *Options) { o.LoginMethod = "PLAIN" }, ""},
		{"heartbeat rate 3 (16.1.0's default)", func(o *Options) { o.HeartbeatRate = 3 }, ""},
		{"heartbeat rate 5", func(o *Options) { o.HeartbeatRate = 5 }, "heartbeat_rate = 5 is not supported"},
		{"retry backoff", func(o *Options) { o.RetryBackoff = 5 * time.Second }, "rabbit_retry_backoff = 5s is not supported"},
		{"reconnect delay", func(o *Options) { o.ReconnectDelay = 0 }, "kombu_reconnect_delay = 0s is not supported"},
		{"fips", func(o *Options) { o.SSLEnforceFIPSMode = true }, "ssl_enforce_fips_mode = true is not supported"},
		{"pool sizes are the Python driver's", func(o *Options) { o.ConnPoolSize, o.ConnPoolTTL, o.HeartbeatInPthread = 99, time.Second, true }, ""},
		{"heartbeat rate zero", func(o *Options) { o.HeartbeatRate = 0 }, "heartbeat_rate must be positive"},
		{"heartbeat off rate zero", func(o *Options) { o.HeartbeatRate, o.HeartbeatTimeout = 0, 0 }, ""},
		{"negative retry", func(o *Options) { o.RetryInterval = -time.Second }, "rabbit_retry_interval must not be negative"},
		{"all errors joined", func(o *Options) { o.QuorumQueue, o.HAQueues, o.PrefetchCount = true, true, 70000 },
			"not both\nrabbit_qos_prefetch_count 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.change(&o)
			err := o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

// TestConsumerPrefetch: an explicit rabbit_qos_prefetch_count means what
// oslo means (0 or less: no basic.qos); unset, the executor's capacity.
func TestConsumerPrefetch(t *testing.T) {
	tests := []struct {
		query string
		want  int
	}{
		{"", 64},
		{"?rabbit_qos_prefetch_count=0", 0},
		{"?rabbit_qos_prefetch_count=-3", 0},
		{"?rabbit_qos_prefetch_count=10", 10},
	}
	for _, tt := range tests {
		u, err := ParseURL("rabbit://h/" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Options.ConsumerPrefetch(64); got != tt.want {
			t.Errorf("%q: prefetch %d, want %d", tt.query, got, tt.want)
		}
	}
}
