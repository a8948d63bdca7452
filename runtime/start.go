package runtime

import (
	"context"
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/abijson"
)

// Episode is one running episode in its own guest instance. It is not safe
// for concurrent use. Close it when done; a faulted episode is closed
// already, and every later call returns an error wrapping ErrClosed.
type Episode struct {
	in     *instance
	closed bool
	seed   uint64
	task   int
	done   bool
	abuf   []byte // Step's encoded action
}

// Start instantiates a fresh guest and resets it to (seed, task), returning
// the episode and its opening observation. On error nothing is left open.
// Options grant the episode backends (WithBackend).
func (e *Env) Start(ctx context.Context, seed uint64, task int, opts ...StartOption) (*Episode, *abi.Observation, error) {
	if task < 0 || task >= e.spec.Tasks {
		return nil, nil, fmt.Errorf("start %s: task %d out of range [0,%d)", e.spec.Name, task, e.spec.Tasks)
	}
	var o startOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := e.checkGrants(o.backends); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", e.spec.Name, err)
	}
	in, err := e.acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", e.spec.Name, err)
	}
	in.sys.reseed(seed, task)
	in.sys.backend.reset(o.backends)
	reply, err := in.request(ctx, "reset", in.fns.reset, nil, seed, uint64(uint32(int32(task))))
	if err != nil {
		e.release(ctx, in)
		return nil, nil, fmt.Errorf("start %s: %w", e.spec.Name, err)
	}
	var obs abi.Observation
	if err := strictUnmarshal(reply, &obs); err != nil {
		f := in.protocol(ctx, "reset", "reply is not an observation: %s", err)
		return nil, nil, fmt.Errorf("start %s: %w", e.spec.Name, f)
	}
	return &Episode{in: in, seed: seed, task: task}, &obs, nil
}

// Step sends an action (an assistant message) and returns the tool messages
// and whether the episode ended.
func (ep *Episode) Step(ctx context.Context, action abi.Message) (*abi.StepResult, error) {
	// The same bytes as json.Marshal, without its reflection; the buffer is
	// reused, since request copies it into the guest before returning.
	ep.abuf = abijson.AppendMessage(ep.abuf[:0], &action)
	return ep.StepJSON(ctx, ep.abuf)
}

// StepJSON is Step with the action already encoded. Malformed bytes reach
// the guest, which must refuse them with a bad-request status.
func (ep *Episode) StepJSON(ctx context.Context, action []byte) (*abi.StepResult, error) {
	if ep.closed {
		return nil, fmt.Errorf("step: %w", ErrClosed)
	}
	ep.in.sys.backend.turn++
	reply, err := ep.in.request(ctx, "step", ep.in.fns.step, action)
	if err != nil {
		return nil, err
	}
	res, fast := abijson.DecodeStepResult(reply)
	if !fast {
		if err := strictUnmarshal(reply, &res); err != nil {
			return nil, ep.in.protocol(ctx, "step", "reply is not a step result: %s", err)
		}
	}
	ep.done = ep.done || res.Done
	return &res, nil
}

// Score asks the guest to grade the episode.
func (ep *Episode) Score(ctx context.Context) (*abi.Score, error) {
	if ep.closed {
		return nil, fmt.Errorf("score: %w", ErrClosed)
	}
	reply, err := ep.in.request(ctx, "score", ep.in.fns.score, nil)
	if err != nil {
		return nil, err
	}
	var s abi.Score
	if err := strictUnmarshal(reply, &s); err != nil {
		return nil, ep.in.protocol(ctx, "score", "reply is not a score: %s", err)
	}
	if !(s.Reward >= 0 && s.Reward <= 1) {
		return nil, ep.in.protocol(ctx, "score", "reward %v outside [0,1]", s.Reward)
	}
	return &s, nil
}

// Oracle asks the env's reference solution for its next action.
func (ep *Episode) Oracle(ctx context.Context) (*abi.Message, error) {
	if ep.closed {
		return nil, fmt.Errorf("oracle: %w", ErrClosed)
	}
	if ep.in.fns.oracle == nil {
		return nil, ErrNoOracle
	}
	reply, err := ep.in.request(ctx, "oracle", ep.in.fns.oracle, nil)
	if err != nil {
		var ge *GuestError
		if asGuest(err, &ge) && ge.Status == abi.StatusUnsupported {
			return nil, fmt.Errorf("%w: %s", ErrNoOracle, ge.Message)
		}
		return nil, err
	}
	m, fast := abijson.DecodeMessage(reply)
	if !fast {
		if err := strictUnmarshal(reply, &m); err != nil {
			return nil, ep.in.protocol(ctx, "oracle", "reply is not a message: %s", err)
		}
	}
	return &m, nil
}

// Done reports whether the guest has said the episode ended.
func (ep *Episode) Done() bool { return ep.done }

// Output returns what the guest wrote to stdout, stderr and the log so far
// (bounded by the output limit).
func (ep *Episode) Output() []byte {
	if ep.closed {
		return nil
	}
	return append([]byte(nil), ep.in.sys.out...)
}

// Close ends the episode. Its instance is restored to the post-initialization
// snapshot and kept for a later episode, or discarded when it faulted or its
// memory grew. It is safe to call more than once.
func (ep *Episode) Close(ctx context.Context) error {
	if ep.closed {
		return nil
	}
	ep.closed = true
	ep.in.env.release(ctx, ep.in)
	return nil
}
