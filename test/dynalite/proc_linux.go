package dynalite

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the server in its own process group, which stop kills
// whole, and has the kernel kill it if the test binary dies first (a test
// timeout, for example), so no server outlives its test.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) error { return killPgid(cmd) }
