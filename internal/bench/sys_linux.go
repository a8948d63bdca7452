package bench

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// minorFaults returns the process's minor page faults so far.
func minorFaults() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Minflt
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memoryUsage returns the process's proportional set size in bytes: its
// resident memory, with each page shared between mappings (an episode's
// untouched pages of the snapshot image) counted once in total rather than
// once per mapping, as the resident set size would.
func memoryUsage() (int64, error) {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, fmt.Errorf("memory usage: %w", err)
	}
	n, err := parseRollup(b, "Pss")
	if err != nil {
		return 0, fmt.Errorf("memory usage: /proc/self/smaps_rollup: %w", err)
	}
	return n, nil
}
