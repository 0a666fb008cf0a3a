//go:build unix

package dynalite

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// killPgid kills the process group that cmd leads; a group that is already
// gone is not an error.
func killPgid(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill dynalite process group %d: %w", cmd.Process.Pid, err)
	}
	return nil
}
