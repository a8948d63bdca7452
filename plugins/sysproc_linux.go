package plugins

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the plugin when the host dies,
// however it dies: a host killed with SIGKILL runs no cleanup, and go-plugin
// alone would leave its plugins running.
//
// The signal follows the thread that started the process, not the whole
// host. The Go runtime ends a thread only when a goroutine locked to it
// exits, and plugins are not started from such goroutines, so in practice
// the two lifetimes are the same.
func setParentDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
