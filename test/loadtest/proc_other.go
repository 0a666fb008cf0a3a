//go:build !linux

package loadtest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
