//go:build linux

package loadtest

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C of the
// harness reaches the harness first and it can stop the server itself, and
// kills the server if the harness dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
