package e2e

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the dev server if the test binary dies
// first (a test timeout, for example), so no server outlives its test.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
