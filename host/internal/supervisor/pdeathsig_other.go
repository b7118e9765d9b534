//go:build !linux

package supervisor

import "os/exec"

func setPdeathsig(*exec.Cmd) {}
