package sdk

import (
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
)

// BackendError is CallBackend's error when the host answered with a non-OK
// status: the backend refused the request (abi.StatusBadRequest) or was not
// granted to this episode (abi.StatusUnsupported). Both are deterministic
// parts of the episode, to be shown to the agent or handled, not faults.
type BackendError struct {
	Status  abi.Status
	Message string
}

func (e *BackendError) Error() string { return fmt.Sprintf("backend %s: %s", e.Status, e.Message) }

// CallBackend calls an operation of a backend the host granted, naming it
// "BACKEND/OP" (for example "inventory/query"), and returns the response.
// Every call and answer is recorded in the trajectory and replayed from it,
// so an env stays deterministic given its backends' answers. Under wasm it
// is the terrarium.backend_call import (docs/abi.md); natively the function
// set with SetNativeBackend answers, and without one every call is
// unsupported.
func CallBackend(name string, request []byte) ([]byte, error) { return callBackend(name, request) }

var nativeBackend func(name string, request []byte) ([]byte, error)

// SetNativeBackend sets what answers CallBackend in native runs (tests,
// NewNative); nil restores the default, under which every call fails with
// abi.StatusUnsupported. A *BackendError returned by f reaches the caller
// as is. It has no effect under wasm.
func SetNativeBackend(f func(name string, request []byte) ([]byte, error)) { nativeBackend = f }
