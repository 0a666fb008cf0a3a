//go:build unix && !linux

package dynalite

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the server in its own process group, which stop kills whole.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(cmd *exec.Cmd) error { return killPgid(cmd) }
