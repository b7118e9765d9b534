package rabbit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options holds the [oslo_messaging_rabbit] options of oslo.messaging 14.0.3
// (spec 2.5, 8.2, 8.3) and those 16.1.0 added, typed. Each field names its
// oslo option and default.
// Options is a plain value: copy it freely; a copy is safe for concurrent
// reads, Set needs exclusive access.
type Options struct {
	// Declarations (spec 2.5).

	DurableQueues bool // amqp_durable_queues, false
	AutoDelete    bool // amqp_auto_delete, false
	HAQueues      bool // rabbit_ha_queues, false: x-ha-policy "all" on every queue
	QuorumQueue   bool // rabbit_quorum_queue, false
	// TransientQuorumQueue is rabbit_transient_quorum_queue (16.1.0),
	// false: reply and fanout queues are durable quorum queues (with
	// x-expires) and the fanout exchange durable.
	TransientQuorumQueue bool
	// StreamFanout is rabbit_stream_fanout (16.1.0), false: one shared
	// stream queue "<topic>_fanout" per topic instead of one fanout queue
	// per server (needs TransientQuorumQueue and a prefetch count).
	StreamFanout bool
	// UseQueueManager is use_queue_manager (16.1.0), false: fanout and
	// reply queues are named "<Hostname>:<ProcessName>:<n>" instead of a
	// random uuid, and left to expire instead of deleted.
	UseQueueManager       bool
	Hostname              string // hostname, socket.gethostname()
	ProcessName           string // processname, basename of argv[0]
	QuorumDeliveryLimit   int    // rabbit_quorum_delivery_limit, 0 (none)
	QuorumMaxMemoryLength int    // rabbit_quroum_max_memory_length (sic; alias rabbit_quorum_max_memory_length), 0
	QuorumMaxMemoryBytes  int    // rabbit_quroum_max_memory_bytes (sic; alias rabbit_quorum_max_memory_bytes), 0
	// TransientQueuesTTL is rabbit_transient_queues_ttl (seconds), 1800 s:
	// x-expires of reply and fanout queues. 0 means no x-expires (as oslo
	// 14.6.0+; 14.0.3 requires >= 1).
	TransientQueuesTTL time.Duration
	// PrefetchCount is rabbit_qos_prefetch_count, 0. When PrefetchSet (the
	// option was given) it means what it means in oslo: basic.qos with
	// that count, none when 0 or less; unset, a consumer prefetches its
	// executor's capacity (see ConsumerPrefetch).
	PrefetchCount    int
	PrefetchSet      bool
	CancelOnFailover bool   // enable_cancel_on_failover, false
	Compression      string // kombu_compression, "" (none); gzip or bz2
	// DirectMandatoryFlag is direct_mandatory_flag, true (deprecated in oslo).
	DirectMandatoryFlag bool
	// MissingConsumerRetryTimeout is kombu_missing_consumer_retry_timeout
	// (seconds; old name kombu_reconnect_timeout), 60 s.
	MissingConsumerRetryTimeout time.Duration

	// Connection (spec 8.2, 6.5).

	HeartbeatTimeout time.Duration // heartbeat_timeout_threshold (seconds), 60 s; 0 disables
	HeartbeatRate    int           // heartbeat_rate, 2 checks per period
	RetryInterval    time.Duration // rabbit_retry_interval (seconds), 1 s
	RetryBackoff     time.Duration // rabbit_retry_backoff (seconds), 2 s
	IntervalMax      time.Duration // rabbit_interval_max (seconds), 30 s
	ReconnectDelay   time.Duration // kombu_reconnect_delay (float seconds, 0..4.5), 1 s
	ReconnectSplay   time.Duration // kombu_reconnect_splay (float seconds, >= 0; 16.1.0), 0: random extra wait before reconnecting
	FailoverStrategy string        // kombu_failover_strategy, "round-robin" (or "shuffle")
	LoginMethod      string        // rabbit_login_method, "AMQPLAIN" (PLAIN, EXTERNAL, RABBIT-CR-DEMO)

	// TLS (spec 8.3).

	SSL         bool   // ssl (old name rabbit_use_ssl), false
	SSLCAFile   string // ssl_ca_file (old name kombu_ssl_ca_certs), ""
	SSLCertFile string // ssl_cert_file (old name kombu_ssl_certfile), ""
	SSLKeyFile  string // ssl_key_file (old name kombu_ssl_keyfile), ""
	SSLVersion  string // ssl_version (old name kombu_ssl_version), "" (TLSv1, SSLv23, TLSv1_1, TLSv1_2)
	// SSLVerifyHostname is ssl_enforce_hostname_verification. Product
	// decision: true by default for oslohost (oslo's default is false, spec
	// 8.3); set the oslo option to false to check only the certificate chain.
	SSLVerifyHostname  bool
	SSLEnforceFIPSMode bool // ssl_enforce_fips_mode, false (accepted, ignored)

	// Accepted for compatibility, not used by the Go driver.

	ConnPoolSize       int           // rpc_conn_pool_size, 30 (min 1)
	ConnPoolMinSize    int           // conn_pool_min_size, 2
	ConnPoolTTL        time.Duration // conn_pool_ttl (seconds), 1200 s
	HeartbeatInPthread bool          // heartbeat_in_pthread, false
}

// DefaultOptions returns the oslo.messaging 14.0.3 defaults (and 16.1.0's
// for the options it added), except SSLVerifyHostname which is true (see
// Options).
func DefaultOptions() Options {
	host, _ := os.Hostname()
	return Options{
		Hostname:                    host,
		ProcessName:                 filepath.Base(os.Args[0]),
		TransientQueuesTTL:          1800 * time.Second,
		DirectMandatoryFlag:         true,
		MissingConsumerRetryTimeout: 60 * time.Second,
		HeartbeatTimeout:            60 * time.Second,
		HeartbeatRate:               2,
		RetryInterval:               1 * time.Second,
		RetryBackoff:                2 * time.Second,
		IntervalMax:                 30 * time.Second,
		ReconnectDelay:              1 * time.Second,
		FailoverStrategy:            "round-robin",
		LoginMethod:                 "AMQPLAIN",
		SSLVerifyHostname:           true,
		ConnPoolSize:                30,
		ConnPoolMinSize:             2,
		ConnPoolTTL:                 1200 * time.Second,
	}
}

// optionSetters maps every option name of [oslo_messaging_rabbit] in oslo
// 14.0.3 and 16.1.0 (both spellings of the quorum memory options) to a
// function converting the value as oslo.config would.
var optionSetters = map[string]func(o *Options, v string) error{
	"amqp_durable_queues":             boolOpt(func(o *Options) *bool { return &o.DurableQueues }),
	"amqp_auto_delete":                boolOpt(func(o *Options) *bool { return &o.AutoDelete }),
	"rabbit_ha_queues":                boolOpt(func(o *Options) *bool { return &o.HAQueues }),
	"rabbit_quorum_queue":             boolOpt(func(o *Options) *bool { return &o.QuorumQueue }),
	"rabbit_transient_quorum_queue":   boolOpt(func(o *Options) *bool { return &o.TransientQuorumQueue }),
	"rabbit_stream_fanout":            boolOpt(func(o *Options) *bool { return &o.StreamFanout }),
	"use_queue_manager":               boolOpt(func(o *Options) *bool { return &o.UseQueueManager }),
	"hostname":                        strOpt(func(o *Options) *string { return &o.Hostname }),
	"processname":                     strOpt(func(o *Options) *string { return &o.ProcessName }),
	"kombu_reconnect_splay":           floatSecondsOpt(func(o *Options) *time.Duration { return &o.ReconnectSplay }, 0, math.Inf(1)),
	"rabbit_quorum_delivery_limit":    intOpt(func(o *Options) *int { return &o.QuorumDeliveryLimit }, math.MinInt),
	"rabbit_quroum_max_memory_length": intOpt(func(o *Options) *int { return &o.QuorumMaxMemoryLength }, math.MinInt),
	"rabbit_quorum_max_memory_length": intOpt(func(o *Options) *int { return &o.QuorumMaxMemoryLength }, math.MinInt),
	"rabbit_quroum_max_memory_bytes":  intOpt(func(o *Options) *int { return &o.QuorumMaxMemoryBytes }, math.MinInt),
	"rabbit_quorum_max_memory_bytes":  intOpt(func(o *Options) *int { return &o.QuorumMaxMemoryBytes }, math.MinInt),
	"rabbit_transient_queues_ttl":     secondsOpt(func(o *Options) *time.Duration { return &o.TransientQueuesTTL }, 0),
	"rabbit_qos_prefetch_count": func(o *Options, v string) error {
		if err := intOpt(func(o *Options) *int { return &o.PrefetchCount }, math.MinInt)(o, v); err != nil {
			return err
		}
		o.PrefetchSet = true
		return nil
	},
	"enable_cancel_on_failover":            boolOpt(func(o *Options) *bool { return &o.CancelOnFailover }),
	"kombu_compression":                    strOpt(func(o *Options) *string { return &o.Compression }),
	"direct_mandatory_flag":                boolOpt(func(o *Options) *bool { return &o.DirectMandatoryFlag }),
	"kombu_missing_consumer_retry_timeout": secondsOpt(func(o *Options) *time.Duration { return &o.MissingConsumerRetryTimeout }, math.MinInt),
	"heartbeat_timeout_threshold":          secondsOpt(func(o *Options) *time.Duration { return &o.HeartbeatTimeout }, math.MinInt),
	"heartbeat_rate":                       intOpt(func(o *Options) *int { return &o.HeartbeatRate }, math.MinInt),
	"rabbit_retry_interval":                secondsOpt(func(o *Options) *time.Duration { return &o.RetryInterval }, math.MinInt),
	"rabbit_retry_backoff":                 secondsOpt(func(o *Options) *time.Duration { return &o.RetryBackoff }, math.MinInt),
	"rabbit_interval_max":                  secondsOpt(func(o *Options) *time.Duration { return &o.IntervalMax }, math.MinInt),
	"kombu_reconnect_delay":                floatSecondsOpt(func(o *Options) *time.Duration { return &o.ReconnectDelay }, 0, 4.5),
	"kombu_failover_strategy":              choiceOpt(func(o *Options) *string { return &o.FailoverStrategy }, "round-robin", "shuffle"),
	"rabbit_login_method":                  choiceOpt(func(o *Options) *string { return &o.LoginMethod }, "PLAIN", "AMQPLAIN", "EXTERNAL", "RABBIT-CR-DEMO"),
	"ssl":                                  boolOpt(func(o *Options) *bool { return &o.SSL }),
	"ssl_ca_file":                          strOpt(func(o *Options) *string { return &o.SSLCAFile }),
	"ssl_cert_file":                        strOpt(func(o *Options) *string { return &o.SSLCertFile }),
	"ssl_key_file":                         strOpt(func(o *Options) *string { return &o.SSLKeyFile }),
	"ssl_version":                          strOpt(func(o *Options) *string { return &o.SSLVersion }),
	"ssl_enforce_hostname_verification":    boolOpt(func(o *Options) *bool { return &o.SSLVerifyHostname }),
	"ssl_enforce_fips_mode":                boolOpt(func(o *Options) *bool { return &o.SSLEnforceFIPSMode }),
	"rpc_conn_pool_size":                   intOpt(func(o *Options) *int { return &o.ConnPoolSize }, 1),
	"conn_pool_min_size":                   intOpt(func(o *Options) *int { return &o.ConnPoolMinSize }, math.MinInt),
	"conn_pool_ttl":                        secondsOpt(func(o *Options) *time.Duration { return &o.ConnPoolTTL }, math.MinInt),
	"heartbeat_in_pthread":                 boolOpt(func(o *Options) *bool { return &o.HeartbeatInPthread }),
}

// deprecatedOptions maps the deprecated names oslo.config still resolves in
// [oslo_messaging_rabbit] to their current names.
var deprecatedOptions = map[string]string{
	"rabbit_use_ssl":          "ssl",
	"kombu_ssl_version":       "ssl_version",
	"kombu_ssl_keyfile":       "ssl_key_file",
	"kombu_ssl_certfile":      "ssl_cert_file",
	"kombu_ssl_ca_certs":      "ssl_ca_file",
	"kombu_reconnect_timeout": "kombu_missing_consumer_retry_timeout",
}

// Set sets the option named key (its oslo name, or a deprecated name) from
// its string form, converted as oslo.config does. An unknown name gives
// "no such option <key> in group [oslo_messaging_rabbit]"; on error o is
// unchanged. Set is not safe for concurrent use.
func (o *Options) Set(key, value string) error {
	if current, ok := deprecatedOptions[key]; ok {
		key = current
	}
	set, ok := optionSetters[key]
	if !ok {
		return fmt.Errorf("no such option %s in group [oslo_messaging_rabbit]", key)
	}
	if err := set(o, value); err != nil {
		return fmt.Errorf("invalid value %q for option %s: %w", value, key, err)
	}
	return nil
}

// sslVersions are the ssl_version values Python 3 accepts (case-insensitive).
var sslVersions = []string{"tlsv1", "sslv23", "tlsv1_1", "tlsv1_2"}

// Validate reports option combinations that oslo rejects or that cannot be
// put on the wire, all of them joined. It is safe for concurrent use.
func (o Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.QuorumQueue && o.HAQueues {
		add("rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both")
	}
	if o.TransientQuorumQueue && o.HAQueues {
		// oslo declares transient queues with rabbit_quorum_queue =
		// rabbit_transient_quorum_queue, so the same check refuses them.
		add("rabbit_transient_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both")
	}
	if o.StreamFanout && (!o.PrefetchSet || o.PrefetchCount <= 0) {
		add("rabbit_stream_fanout need rabbit_qos_prefetch_count to be set to a value greater than 0")
	}
	if o.StreamFanout && !o.TransientQuorumQueue {
		add("rabbit_stream_fanout need rabbit_transient_quorum_queue to be set to true")
	}
	if o.UseQueueManager && (o.Hostname == "" || o.ProcessName == "") {
		add("use_queue_manager needs hostname and processname (queue names are <hostname>:<processname>:<n>)")
	}
	for _, q := range []struct {
		name string
		v    int
	}{
		{"rabbit_quorum_delivery_limit", o.QuorumDeliveryLimit},
		{"rabbit_quorum_max_memory_length", o.QuorumMaxMemoryLength},
		{"rabbit_quorum_max_memory_bytes", o.QuorumMaxMemoryBytes},
	} {
		if q.v < 0 {
			add("%s must not be negative, got %d (RabbitMQ refuses the queue argument)", q.name, q.v)
		}
	}
	if o.TransientQueuesTTL > math.MaxInt32*time.Millisecond {
		add("rabbit_transient_queues_ttl %s is too long for x-expires (at most %d seconds)", o.TransientQueuesTTL, math.MaxInt32/1000)
	}
	errs = append(errs, o.notHonoured()...)
	if o.ConnPoolSize < o.ConnPoolMinSize {
		add("rpc_conn_pool_size: %d must be greater than or equal to conn_pool_min_size: %d", o.ConnPoolSize, o.ConnPoolMinSize)
	}
	if o.SSL && o.SSLVersion != "" && !containsFold(sslVersions, o.SSLVersion) {
		add("invalid ssl_version %q", o.SSLVersion)
	}
	if o.Compression != "" && o.Compression != "gzip" && o.Compression != "bz2" {
		add("kombu_compression %q not supported (gzip or bz2)", o.Compression)
	}
	if o.PrefetchCount > math.MaxUint16 {
		add("rabbit_qos_prefetch_count %d out of range (basic.qos takes at most 65535)", o.PrefetchCount)
	}
	if o.HeartbeatTimeout > 0 && o.HeartbeatRate <= 0 {
		add("heartbeat_rate must be positive, got %d", o.HeartbeatRate)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"rabbit_transient_queues_ttl", o.TransientQueuesTTL},
		{"kombu_missing_consumer_retry_timeout", o.MissingConsumerRetryTimeout},
		{"heartbeat_timeout_threshold", o.HeartbeatTimeout},
		{"rabbit_retry_interval", o.RetryInterval},
		{"rabbit_retry_backoff", o.RetryBackoff},
		{"rabbit_interval_max", o.IntervalMax},
		{"kombu_reconnect_delay", o.ReconnectDelay},
	} {
		if d.v < 0 {
			add("%s must not be negative, got %s", d.name, d.v)
		}
	}
	return errors.Join(errs...)
}

// notHonoured refuses, by name, each oslo option set to a value whose
// effect oslohost does not implement. Such an option at oslo's default
// (14.0.3's or 16.1.0's) asks for nothing and is accepted; the options of
// the Python driver's own machinery (its connection pool, its heartbeat
// thread) have no counterpart in Go and are accepted with any value.
func (o Options) notHonoured() []error {
	var errs []error
	refuse := func(name, value, why string) {
		errs = append(errs, fmt.Errorf("%s = %s is not supported by oslohost: %s", name, value, why))
	}
	if o.Compression != "" {
		refuse("kombu_compression", o.Compression, "it reads compressed messages but sends them uncompressed; remove the option")
	}
	switch o.LoginMethod {
	case "AMQPLAIN", "PLAIN": // the same user and password; oslohost sends PLAIN
	default:
		refuse("rabbit_login_method", o.LoginMethod, "oslohost logs in with user and password (PLAIN or AMQPLAIN)")
	}
	if o.HeartbeatRate != 2 && o.HeartbeatRate != 3 && o.HeartbeatTimeout > 0 {
		refuse("heartbeat_rate", strconv.Itoa(o.HeartbeatRate), "oslohost sends heartbeats twice per heartbeat_timeout_threshold (oslo's 2; 3 is accepted as 16.1.0's default)")
	}
	if o.RetryBackoff != 2*time.Second {
		refuse("rabbit_retry_backoff", o.RetryBackoff.String(), "oslohost doubles the wait from rabbit_retry_interval up to rabbit_interval_max instead")
	}
	if o.ReconnectDelay != time.Second {
		refuse("kombu_reconnect_delay", o.ReconnectDelay.String(), "oslohost waits by rabbit_retry_interval after a consumer cancel; use kombu_reconnect_splay for extra random delay")
	}
	if o.SSLEnforceFIPSMode {
		refuse("ssl_enforce_fips_mode", "true", "Go's TLS has no OpenSSL FIPS mode switch")
	}
	return errs
}

// ConsumerPrefetch is the basic.qos prefetch count of a consumer whose
// executor runs capacity messages at once: rabbit_qos_prefetch_count when it
// was given, as oslo means it (0 or less: no basic.qos at all), else
// capacity. 0 means no basic.qos.
func (o Options) ConsumerPrefetch(capacity int) int {
	if o.PrefetchSet {
		return max(o.PrefetchCount, 0)
	}
	return max(capacity, 0)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// parseBool accepts what oslo.config's Boolean type accepts.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "on", "yes":
		return true, nil
	case "false", "0", "off", "no":
		return false, nil
	}
	return false, errors.New("not a boolean (true/false, yes/no, on/off, 1/0)")
}

// parseInt accepts what oslo.config's Integer type accepts (surrounding
// spaces, optional sign), with a lower bound.
func parseInt(v string, minimum int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, errors.New("not an integer")
	}
	if n < minimum {
		return 0, fmt.Errorf("should be greater than or equal to %d", minimum)
	}
	return n, nil
}

func boolOpt(field func(*Options) *bool) func(*Options, string) error {
	return func(o *Options, v string) error {
		b, err := parseBool(v)
		if err == nil {
			*field(o) = b
		}
		return err
	}
}

func intOpt(field func(*Options) *int, minimum int) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseInt(v, minimum)
		if err == nil {
			*field(o) = n
		}
		return err
	}
}

func secondsOpt(field func(*Options) *time.Duration, minimum int) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseInt(v, minimum)
		if err != nil {
			return err
		}
		if n > math.MaxInt64/int(time.Second) || n < math.MinInt64/int(time.Second) {
			return errors.New("out of range")
		}
		*field(o) = time.Duration(n) * time.Second
		return nil
	}
}

func floatSecondsOpt(field func(*Options) *time.Duration, minimum, maximum float64) func(*Options, string) error {
	return func(o *Options, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return errors.New("not a number")
		}
		switch {
		case math.IsInf(maximum, 1) && f < minimum:
			return fmt.Errorf("should be greater than or equal to %g", minimum)
		case f < minimum || f > maximum:
			return fmt.Errorf("should be between %g and %g", minimum, maximum)
		case f*float64(time.Second) >= math.MaxInt64:
			return errors.New("out of range")
		}
		*field(o) = time.Duration(f * float64(time.Second))
		return nil
	}
}

func strOpt(field func(*Options) *string) func(*Options, string) error {
	return func(o *Options, v string) error {
		*field(o) = v
		return nil
	}
}

func choiceOpt(field func(*Options) *string, choices ...string) func(*Options, string) error {
	return func(o *Options, v string) error {
		for _, c := range choices {
			if v == c {
				*field(o) = v
				return nil
			}
		}
		return fmt.Errorf("valid values are [%s]", strings.Join(choices, ", "))
	}
}
