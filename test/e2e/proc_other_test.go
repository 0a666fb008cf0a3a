//go:build !linux

package e2e

import "os/exec"

// setProcAttr does nothing where the kernel cannot tie a child's life to its
// parent's; the test's cleanup still stops every server it started.
func setProcAttr(*exec.Cmd) {}
