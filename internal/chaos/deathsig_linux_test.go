package chaos

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the child die with its parent (a parent killed by
// go test's timeout must not leave a child running).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
