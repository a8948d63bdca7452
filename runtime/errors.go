package runtime

import (
	"errors"
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
)

var (
	// ErrClosed is returned by calls on a closed or faulted episode.
	ErrClosed = errors.New("episode is closed")
	// ErrRequestTooLarge is returned when an action exceeds the request limit.
	ErrRequestTooLarge = errors.New("request too large")
	// ErrNoOracle is returned by Episode.Oracle when the env ships none.
	ErrNoOracle = errors.New("environment has no oracle")
	// ErrInvalidModule is wrapped by every error about a module that cannot
	// be used as an environment (not wasm, wrong ABI version, missing
	// export...).
	ErrInvalidModule = errors.New("invalid environment module")
)

// FaultKind classifies why a guest was stopped.
type FaultKind string

// Fault kinds.
const (
	FaultTrap     FaultKind = "trap"     // the guest trapped (unreachable, out of bounds, stack overflow, Go panic)
	FaultMemory   FaultKind = "memory"   // the guest ran out of its memory limit
	FaultTimeout  FaultKind = "timeout"  // a call ran past the step timeout
	FaultExit     FaultKind = "exit"     // the guest called proc_exit
	FaultOutput   FaultKind = "output"   // the guest wrote past the output limit
	FaultProtocol FaultKind = "protocol" // the guest broke the ABI (bad reply, bad pointer, oversized reply)
	FaultEnv      FaultKind = "env"      // the guest reported an env failure (status 4)
	FaultCanceled FaultKind = "canceled" // the caller's context ended
	FaultBudget   FaultKind = "budget"   // a call used up its compute budget (Config.WithFuelPerStep)
	FaultBackend  FaultKind = "backend"  // a backend call failed outside its contract (see Backend)
)

// Fault is the error of a call that ended the episode: the guest's instance
// was closed and is never reused.
type Fault struct {
	Kind FaultKind
	// Op is the guest call that faulted: "instantiate", "reset", "step"...
	Op string
	// Reason is a one-line description.
	Reason string
	// Output is the tail of what the guest wrote (stderr, stdout, log).
	Output string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("%s fault in %s: %s", f.Kind, f.Op, f.Reason)
}

// GuestError is the error of a call the guest refused with a non-OK status
// other than an env failure (which is a Fault). The episode is still usable.
type GuestError struct {
	Op      string
	Status  abi.Status
	Message string
}

func (e *GuestError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Op, e.Status, e.Message)
}

func asGuest(err error, target **GuestError) bool { return errors.As(err, target) }
