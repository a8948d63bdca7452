package sdk

import (
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
)

// Logf sends a log line to the host (terrarium.log), which keeps it with the
// episode's captured output, bounded. Natively (NewNative) it is dropped.
func Logf(level int, format string, args ...any) { logMessage(level, fmt.Sprintf(format, args...)) }

// Log levels for Logf.
const (
	LevelDebug = abi.LogDebug
	LevelInfo  = abi.LogInfo
	LevelWarn  = abi.LogWarn
	LevelError = abi.LogError
)
