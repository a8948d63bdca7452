package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/terrarium-rl/terrarium/abi"
)

// Backend is a service outside the sandbox that an environment reaches
// through terrarium.backend_call (docs/abi.md, "Host imports"): a database,
// a search index, a code executor. The host hands each episode the backends
// it grants (WithBackend); every call and answer is recorded in order
// (Episode.BackendCalls), so that a replay can answer from the record with
// the backend absent.
//
// # Notes
//
//   - Call may be used by many episodes at once.
//   - An error wrapping a *BackendError is the backend's answer (a refused
//     query, a missing row): the guest sees it as status 1 and the episode
//     goes on. Any other error (a crashed plugin, a lost connection) ends
//     the episode with a FaultBackend.
type Backend interface {
	// Call runs operation op with a request and returns the response.
	Call(ctx context.Context, op string, request []byte) ([]byte, error)
}

// BackendError is a backend's refusal of a request, shown to the guest.
type BackendError struct{ Message string }

func (e *BackendError) Error() string { return e.Message }

// BackendCall is one recorded call of a guest to a backend.
type BackendCall struct {
	// Turn is the number of steps sent to the episode before the call: 0
	// during reset, n during the n-th step (and after it, for score).
	Turn int
	// Backend and Op are the two halves of the name the guest called
	// ("BACKEND/OP").
	Backend, Op string
	Request     []byte
	// Status is what the guest saw: abi.StatusOK with Response,
	// abi.StatusBadRequest when the backend refused (Err says why),
	// abi.StatusUnsupported when the backend was not granted. It is
	// abi.StatusEnvFailure when Fault is set.
	Status   abi.Status
	Response []byte
	// Err is the refusal or, with Fault set, why the call failed and ended
	// the episode.
	Err   string
	Fault bool
}

// StartOption adjusts one episode started by Env.Start.
type StartOption func(*startOptions)

type startOptions struct {
	backends map[string]Backend
}

// WithBackend grants the episode backend b under name. The guest's calls of
// "NAME/OP" go to b.Call(ctx, OP, request); calls of a name not granted get
// status 3 (unsupported), which the guest sees, not a fault.
func WithBackend(name string, b Backend) StartOption {
	return func(o *startOptions) {
		if o.backends == nil {
			o.backends = map[string]Backend{}
		}
		o.backends[name] = b
	}
}

// ErrBackendNotDeclared is returned by Env.Start when it is asked to grant
// a backend the environment's spec does not declare: a backend is a
// capability the env must ask for.
var ErrBackendNotDeclared = errors.New("backend not declared by the environment")

func (e *Env) checkGrants(granted map[string]Backend) error {
	for name := range granted {
		if !slices.Contains(e.spec.Backends, name) {
			return fmt.Errorf("%w: %q (its spec declares %q)", ErrBackendNotDeclared, name, e.spec.Backends)
		}
	}
	return nil
}

func validateBackends(names []string) error {
	for i, n := range names {
		switch {
		case n == "" || strings.ContainsAny(n, "/ \t\n"):
			return fmt.Errorf("backends[%d] %q is empty or contains a slash or space", i, n)
		case slices.Contains(names[:i], n):
			return fmt.Errorf("backends[%d] %q is listed twice", i, n)
		}
	}
	return nil
}

// backendState is the per-episode part of episodeSys that serves
// terrarium.backend_call.
type backendState struct {
	granted map[string]Backend
	calls   []BackendCall
	turn    int
	result  []byte // what backend_result copies out
	fault   string // set when a call failed the episode
}

func (b *backendState) reset(granted map[string]Backend) {
	*b = backendState{granted: granted}
}

func (b *backendState) clone() backendState {
	c := *b
	c.calls = append([]BackendCall(nil), b.calls...)
	c.result = append([]byte(nil), b.result...)
	return c
}

// errBackendFault stops the guest when a backend failed outside its
// contract; classify reports it as a FaultBackend.
var errBackendFault = errors.New("backend failed")

// hostBackendCall implements terrarium.backend_call(name_ptr, name_len,
// req_ptr, req_len) -> status.
func hostBackendCall(ctx context.Context, m api.Module, namePtr, nameLen, reqPtr, reqLen uint32) uint32 {
	s, _ := ctx.Value(sysKey{}).(*episodeSys)
	if s == nil {
		return uint32(abi.StatusUnsupported)
	}
	nb, ok := m.Memory().Read(namePtr, nameLen)
	if !ok {
		panic(fmt.Errorf("backend_call: name [%d,+%d) outside memory", namePtr, nameLen))
	}
	rb, ok := m.Memory().Read(reqPtr, reqLen)
	if !ok {
		panic(fmt.Errorf("backend_call: request [%d,+%d) outside memory", reqPtr, reqLen))
	}
	bs := &s.backend
	name, op, _ := strings.Cut(string(nb), "/")
	call := BackendCall{Turn: bs.turn, Backend: name, Op: op, Request: append([]byte(nil), rb...)}
	refuse := func(st abi.Status, msg string) uint32 {
		call.Status, call.Err = st, msg
		bs.calls = append(bs.calls, call)
		bs.result, _ = json.Marshal(abi.Error{Error: msg})
		return uint32(st)
	}
	b := bs.granted[name]
	if b == nil {
		return refuse(abi.StatusUnsupported, fmt.Sprintf("backend %q is not available to this episode", name))
	}
	resp, err := b.Call(ctx, op, call.Request)
	var be *BackendError
	switch {
	case errors.As(err, &be):
		return refuse(abi.StatusBadRequest, be.Message)
	case err != nil:
		call.Status, call.Err, call.Fault = abi.StatusEnvFailure, err.Error(), true
		bs.calls = append(bs.calls, call)
		bs.fault = fmt.Sprintf("backend %s/%s: %s", name, op, err)
		panic(errBackendFault)
	}
	call.Response = append([]byte(nil), resp...)
	bs.calls = append(bs.calls, call)
	bs.result = call.Response
	return uint32(abi.StatusOK)
}

// hostBackendResult implements terrarium.backend_result(ptr, cap) -> len:
// it copies up to cap bytes of the last call's result to ptr and returns the
// result's whole length, so a guest may ask with cap 0 first.
func hostBackendResult(ctx context.Context, m api.Module, ptr, capacity uint32) uint32 {
	s, _ := ctx.Value(sysKey{}).(*episodeSys)
	if s == nil {
		return 0
	}
	r := s.backend.result
	n := min(uint32(len(r)), capacity)
	if n > 0 && !m.Memory().Write(ptr, r[:n]) {
		panic(fmt.Errorf("backend_result: buffer [%d,+%d) outside memory", ptr, n))
	}
	return uint32(len(r))
}

// BackendCalls returns the episode's backend calls so far, in order. It
// returns nil once the episode is closed.
func (ep *Episode) BackendCalls() []BackendCall {
	if ep.closed {
		return nil
	}
	return append([]BackendCall(nil), ep.in.sys.backend.calls...)
}
