package host

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslohost/oslohost/host/internal/supervisor"
)

// swapCollector reports the plugins' swap state at scrape time: old
// generations draining and their calls, probation, queued swaps and
// rollbacks. Read from the supervisor's plugins, so a removed plugin's
// series go with it.
type swapCollector struct{ sup *supervisor.Supervisor }

var _ prometheus.Collector = swapCollector{}

var (
	descDraining      = pluginDesc("plugin_draining_generations", "Old generations of the plugin still finishing calls after a swap.")
	descDrainingCalls = pluginDesc("plugin_draining_calls", "Calls in flight on the plugin's old generations.")
	descDrainCut      = pluginDesc("plugin_drain_cut_calls", "Calls cut by the drain limits on the old generations alive now.")
	descProbation     = pluginDesc("plugin_on_probation", "1 while the serving generation is on probation, the previous one kept to roll back to.")
	descQueued        = pluginDesc("plugin_swap_queued", "1 while a swap of the plugin waits to start.")
	descRollbacks     = pluginDesc("plugin_rollbacks_total", "Swaps rolled back because the new generation died on probation.")
)

// pluginDesc describes a metric of the host's, labelled by plugin.
func pluginDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "", name), help, []string{"plugin"}, nil)
}

func (swapCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDraining, descDrainingCalls, descDrainCut, descProbation, descQueued, descRollbacks} {
		ch <- d
	}
}

func (c swapCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.sup.Plugins() {
		st := p.Status()
		calls, cut := 0, 0
		for _, g := range st.Draining {
			calls += g.InFlight
			cut += g.Cut
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, st.Name)
		}
		gauge(descDraining, float64(len(st.Draining)))
		gauge(descDrainingCalls, float64(calls))
		gauge(descDrainCut, float64(cut))
		gauge(descProbation, b2f(st.Probation != nil))
		gauge(descQueued, b2f(st.SwapQueued != nil))
		ch <- prometheus.MustNewConstMetric(descRollbacks, prometheus.CounterValue, float64(st.Rollbacks), st.Name)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
