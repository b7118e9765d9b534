package cli

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/oslohost/oslohost/host/config"
)

// smallMachineCPUs is the most CPUs at which the host runs itself and its
// plugins on one Go processor each. On a machine this small the broker
// usually shares the cores, and a Go process with several processors
// spends much of its CPU waking idle threads to hand goroutines over (a
// third of the host's CPU on 2 cores; see "Go processors" in
// BENCHMARKS.md); with one, a hand-off is a run-queue operation.
const smallMachineCPUs = 2

// procs is how many Go processors the host and its plugins get.
type procs struct {
	// host is what the host sets (0: the runtime's own choice stays).
	host int
	// plugin is the GOMAXPROCS given to plugins whose env sets none
	// ("": none given, they choose for themselves).
	plugin string
	// why says where the numbers come from, for the log.
	why string
}

// decideProcs decides from, in this order: an explicit GOMAXPROCS in the
// host's environment (env; the runtime applied it already), the HCL
// setting host.gomaxprocs (setting, 0 when absent), or the CPUs the
// process may use (available: the runtime's default GOMAXPROCS, which
// follows the CPU affinity and the cgroup CPU quota): one Go processor
// each up to smallMachineCPUs, the runtime's choice above.
func decideProcs(env string, setting, available int) procs {
	if n, err := strconv.Atoi(env); err == nil && n > 0 {
		return procs{plugin: env, why: "GOMAXPROCS in the environment"}
	}
	if setting > 0 {
		return procs{host: setting, plugin: strconv.Itoa(setting), why: "host.gomaxprocs"}
	}
	if available <= smallMachineCPUs {
		return procs{host: 1, plugin: "1", why: fmt.Sprintf("%d CPUs available: one Go processor each", available)}
	}
	return procs{why: fmt.Sprintf("%d CPUs available: Go's default", available)}
}

// currentProcs decides for this process (setting: host.gomaxprocs, 0 for
// none) and applies the host's share. `oslohost bench` decides as the host
// does: a load generator on a small machine shares it with the broker too.
func currentProcs(setting int) procs {
	p := decideProcs(os.Getenv("GOMAXPROCS"), setting, runtime.GOMAXPROCS(0))
	if p.host > 0 {
		runtime.GOMAXPROCS(p.host)
	}
	return p
}

// apply gives the plugins of cfg whose env sets no GOMAXPROCS the
// decided one.
func (p procs) apply(cfg *config.Config) {
	if p.plugin == "" {
		return
	}
	for _, pl := range cfg.Plugins {
		if _, ok := pl.Env["GOMAXPROCS"]; ok {
			continue
		}
		if pl.Env == nil {
			pl.Env = map[string]string{}
		}
		pl.Env["GOMAXPROCS"] = p.plugin
	}
}
