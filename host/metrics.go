package host

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/oslohost/oslohost/host/internal/supervisor"
	"github.com/oslohost/oslohost/server"
	"github.com/oslohost/oslohost/transport"
)

// metrics are the host's Prometheus collectors, in their own registry.
type metrics struct {
	reg        *prometheus.Registry
	calls      *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inflight   *prometheus.GaugeVec
	restarts   *prometheus.CounterVec
	swaps      *prometheus.CounterVec
	pluginUp   *prometheus.GaugeVec
	reconnects prometheus.Counter
	reloads    *prometheus.CounterVec
	notes      *prometheus.CounterVec
}

// UnknownMethod is the method label of calls to a method no endpoint of the
// server describes: the label stays bounded whatever callers send.
const UnknownMethod = "_unknown"

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: counterVec("rpc_calls_total",
			"RPC requests dispatched, by server, method ("+UnknownMethod+" for a method no endpoint describes) and outcome (ok, error, rejected).",
			"server", "method", "outcome"),
		notes: counterVec("notifications_total",
			"Notifications a listener settled, by listener and outcome (handled, requeued, dropped).",
			"listener", "outcome"),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "rpc_call_duration_seconds",
			Help:    "Time from dispatch to the handler's return, by server.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"server"}),
		inflight: gaugeVec("rpc_in_flight", "RPC requests being handled now, by server.", "server"),
		restarts: counterVec("plugin_restarts_total", "Plugin restarts after a crash.", "plugin"),
		swaps:    counterVec("plugin_swaps_total", "Plugin hot swaps, by result (ok, failed).", "plugin", "result"),
		pluginUp: gaugeVec("plugin_up", "1 while the plugin has a serving process.", "plugin"),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "broker_reconnects_total",
			Help: "Broker connections made after the first.",
		}),
		reloads: counterVec("config_reloads_total", "Configuration reloads, by result (ok, failed).", "result"),
	}
	m.reg.MustRegister(m.calls, m.notes, m.latency, m.inflight, m.restarts, m.swaps, m.pluginUp, m.reconnects, m.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// metricsNamespace prefixes the host's metric names (oslohost_rpc_calls_total).
const metricsNamespace = "oslohost"

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
}

// consumerCollector reports at scrape time whether each server's and
// listener's consumer is consuming (oslohost_consumer_ready), read from
// the consumers themselves, so a removed block's series go with it.
type consumerCollector struct{ h *Host }

var _ prometheus.Collector = consumerCollector{}

var descConsumerReady = prometheus.NewDesc(metricsNamespace+"_consumer_ready",
	"1 while the block's consumer consumes all its queues, 0 while it starts or reconnects (kind: server or listener).",
	[]string{"kind", "name"}, nil)

func (consumerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descConsumerReady }

func (c consumerCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	h.mu.RLock()
	var metrics []prometheus.Metric
	ready := func(kind, name string, st transport.ConsumerState) {
		up := st.Ready()
		metrics = append(metrics, prometheus.MustNewConstMetric(descConsumerReady, prometheus.GaugeValue, b2f(up), kind, name))
	}
	for name, e := range h.servers {
		ready("server", name, e.srv.State())
	}
	for name, e := range h.lsns {
		ready("listener", name, e.l.State())
	}
	h.mu.RUnlock()
	for _, m := range metrics {
		ch <- m
	}
}

// forgetServer deletes the series of a server no longer configured.
func (m *metrics) forgetServer(name string) {
	m.calls.DeletePartialMatch(prometheus.Labels{"server": name})
	m.latency.DeleteLabelValues(name)
	m.inflight.DeleteLabelValues(name)
}

// forgetPlugin deletes the series of a plugin no longer configured.
func (m *metrics) forgetPlugin(name string) {
	m.restarts.DeleteLabelValues(name)
	m.swaps.DeletePartialMatch(prometheus.Labels{"plugin": name})
	m.pluginUp.DeleteLabelValues(name)
}

// forgetListener deletes the series of a listener no longer configured.
func (m *metrics) forgetListener(name string) {
	m.notes.DeletePartialMatch(prometheus.Labels{"listener": name})
}

// pluginObserver counts the supervisor's events.
type pluginObserver struct{ m *metrics }

var _ supervisor.Observer = pluginObserver{}

func (o pluginObserver) PluginUp(name string, up bool) {
	o.m.pluginUp.WithLabelValues(name).Set(b2f(up))
}
func (o pluginObserver) PluginRestarted(name string) { o.m.restarts.WithLabelValues(name).Inc() }
func (o pluginObserver) PluginSwapped(name, result string) {
	o.m.swaps.WithLabelValues(name, result).Inc()
}

// listenerObserver counts one listener's notifications by outcome.
func (m *metrics) listenerObserver(name string) func(outcome string) {
	return func(outcome string) { m.notes.WithLabelValues(name, outcome).Inc() }
}

// serverObserver feeds one server's calls into the metrics.
type serverObserver struct {
	name     string
	m        *metrics
	inflight prometheus.Gauge
	latency  prometheus.Observer
	methods  atomic.Pointer[map[string]bool] // the method names the endpoints describe
}

// setMethods makes the method names of eps the ones labelled by name.
func (o *serverObserver) setMethods(eps []server.Endpoint) {
	known := map[string]bool{server.PingMethod: true}
	for _, ep := range eps {
		for m := range ep.Methods {
			known[m] = true
		}
	}
	o.methods.Store(&known)
}

var _ server.Observer = (*serverObserver)(nil)

func (m *metrics) observer(serverName string) *serverObserver {
	return &serverObserver{
		name: serverName, m: m,
		inflight: m.inflight.WithLabelValues(serverName),
		latency:  m.latency.WithLabelValues(serverName),
	}
}

func (o *serverObserver) CallStarted() { o.inflight.Inc() }

func (o *serverObserver) CallFinished(method, outcome string, took time.Duration) {
	o.inflight.Dec()
	o.latency.Observe(took.Seconds())
	if known := o.methods.Load(); known == nil || !(*known)[method] {
		method = UnknownMethod
	}
	o.m.calls.WithLabelValues(o.name, method, outcome).Inc()
}
