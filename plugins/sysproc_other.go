//go:build !linux

package plugins

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal: there a plugin outlives a host that dies without calling Close.
func setParentDeathSignal(*exec.Cmd) {}
