package trainer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// BackendCall is one call of the environment to a backend (runtime.Backend),
// as recorded in a trajectory's backend_calls.
type BackendCall struct {
	// Turn is the turn the call was made in: 0 during reset, n during the
	// n-th step.
	Turn    int    `json:"turn"`
	Backend string `json:"backend"`
	Op      string `json:"op"`
	// Request and Response are the bytes exchanged, base64 in JSON so that
	// any backend format round-trips exactly.
	Request []byte `json:"request"`
	// Status is what the guest saw (docs/abi.md, backend_call): 0 answered,
	// 1 refused, 3 not granted; 4 marks a call that failed the episode.
	Status   abi.Status `json:"status"`
	Response []byte     `json:"response,omitempty"`
	// Error is the refusal or failure when Status is not 0.
	Error string `json:"error,omitempty"`
}

func recordCalls(calls []trt.BackendCall) []BackendCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]BackendCall, len(calls))
	for i, c := range calls {
		out[i] = BackendCall{Turn: c.Turn, Backend: c.Backend, Op: c.Op, Request: c.Request,
			Status: c.Status, Response: c.Response, Error: c.Err}
	}
	return out
}

// errReplayMismatch fails the replayed episode's call when the guest asks
// what the record does not hold; Replay reports the Divergence instead.
var errReplayMismatch = errors.New("replay: the call differs from the record")

// replayer answers an episode's backend calls from its record, in order.
// The host answers calls of backends it was not granted by itself, so
// recorded unsupported calls are passed over.
type replayer struct {
	mu    sync.Mutex
	rec   *Trajectory
	next  int
	div   *Divergence
	names []string
}

func newReplayer(rec *Trajectory) *replayer {
	r := &replayer{rec: rec}
	seen := map[string]bool{}
	for _, c := range rec.BackendCalls {
		if c.Status != abi.StatusUnsupported && !seen[c.Backend] {
			seen[c.Backend] = true
			r.names = append(r.names, c.Backend)
		}
	}
	return r
}

// options grants the replayer under every backend name the record shows
// granted.
func (r *replayer) options() []trt.StartOption {
	var opts []trt.StartOption
	for _, n := range r.names {
		opts = append(opts, trt.WithBackend(n, replayBackend{r, n}))
	}
	return opts
}

func (r *replayer) skipUnsupported() {
	for r.next < len(r.rec.BackendCalls) && r.rec.BackendCalls[r.next].Status == abi.StatusUnsupported {
		r.next++
	}
}

type callView struct {
	Backend string `json:"backend"`
	Op      string `json:"op"`
	Request []byte `json:"request"`
}

func (r *replayer) call(name, op string, req []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.div != nil {
		return nil, errReplayMismatch
	}
	r.skipUnsupported()
	got := callView{name, op, req}
	if r.next >= len(r.rec.BackendCalls) {
		r.div = compare(r.rec.Episode, -1, "backend", nil, got)
		return nil, errReplayMismatch
	}
	c := r.rec.BackendCalls[r.next]
	if c.Backend != name || c.Op != op || !bytes.Equal(c.Request, req) {
		r.div = compare(r.rec.Episode, c.Turn, "backend", callView{c.Backend, c.Op, c.Request}, got)
		return nil, errReplayMismatch
	}
	r.next++
	switch c.Status {
	case abi.StatusOK:
		return c.Response, nil
	case abi.StatusBadRequest:
		return nil, &trt.BackendError{Message: c.Error}
	}
	return nil, fmt.Errorf("%s (recorded)", c.Error)
}

// mismatch returns the Divergence of a call that differed from the record.
func (r *replayer) mismatch() *Divergence {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.div
}

// finish returns a Divergence when the replay made fewer calls than
// recorded.
func (r *replayer) finish() *Divergence {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipUnsupported()
	if r.next < len(r.rec.BackendCalls) {
		c := r.rec.BackendCalls[r.next]
		return &Divergence{Episode: r.rec.Episode, Turn: c.Turn, What: "backend", Offset: -1,
			Recorded: fmt.Sprintf("%d calls, the next %s/%s", len(r.rec.BackendCalls), c.Backend, c.Op),
			Replayed: fmt.Sprintf("no call after call %d", r.next)}
	}
	return nil
}

type replayBackend struct {
	r    *replayer
	name string
}

func (b replayBackend) Call(ctx context.Context, op string, req []byte) ([]byte, error) {
	return b.r.call(b.name, op, req)
}
