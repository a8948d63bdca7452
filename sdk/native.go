package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
)

// Native runs an environment in the calling process, without WebAssembly,
// through the same request handling as the wasm exports. Use it to unit-test
// env logic with go test, and as the floor that sandboxed runs are measured
// against. It is not safe for concurrent use.
type Native struct{ d *driver }

// NewNative returns a Native running the env made by newEnv.
func NewNative(newEnv func() Env) *Native { return &Native{d: newDriver(newEnv)} }

// StatusError is returned by Native's methods when the env answered with a
// non-OK status.
type StatusError struct {
	Status  abi.Status
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: %s", e.Status, e.Message) }

func decode[T any](r reply) (T, error) {
	var v T
	if r.status != abi.StatusOK {
		var e abi.Error
		_ = json.Unmarshal(r.body, &e)
		return v, &StatusError{Status: r.status, Message: e.Error}
	}
	err := json.Unmarshal(r.body, &v)
	return v, err
}

// Spec returns the env's spec.
func (n *Native) Spec() (abi.Spec, error) { return decode[abi.Spec](n.d.spec()) }

// Reset starts an episode.
func (n *Native) Reset(seed uint64, task int) (abi.Observation, error) {
	return decode[abi.Observation](n.d.reset(seed, int32(task), nil))
}

// Step applies an action.
func (n *Native) Step(action abi.Message) (abi.StepResult, error) {
	b, err := json.Marshal(action)
	if err != nil {
		return abi.StepResult{}, err
	}
	return decode[abi.StepResult](n.d.step(b))
}

// StepRaw applies an action given as JSON bytes and returns the reply bytes,
// exactly as a wasm guest would.
func (n *Native) StepRaw(action []byte) (abi.Status, []byte) {
	r := n.d.step(action)
	return r.status, r.body
}

// Score grades the episode.
func (n *Native) Score() (abi.Score, error) { return decode[abi.Score](n.d.score()) }

// Oracle returns the reference solution's next action.
func (n *Native) Oracle() (abi.Message, error) { return decode[abi.Message](n.d.oracleAction()) }
