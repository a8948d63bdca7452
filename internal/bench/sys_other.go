//go:build !linux

package bench

import (
	"errors"
	"time"
)

func minorFaults() int64 { return 0 }

func cpuTime() time.Duration { return 0 }

func memoryUsage() (int64, error) {
	return 0, errors.New("memory usage: measured from /proc/self/smaps_rollup, which only Linux has")
}
