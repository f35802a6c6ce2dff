//go:build !linux

package chaos

import "os/exec"

// setDeathSignal does nothing: only Linux has a parent-death signal; the
// child's own -test.timeout ends it.
func setDeathSignal(*exec.Cmd) {}
