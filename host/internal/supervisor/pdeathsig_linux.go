package supervisor

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill the plugin when the host dies, even by
// SIGKILL, so plugins never outlive it, and puts the plugin in its own
// process group, so that a Ctrl-C or a SIGTERM sent to the host's group does
// not kill plugins before the host has drained their calls.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
