package host

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill the plugin when the host dies, even by
// SIGKILL, so plugins never outlive it.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
