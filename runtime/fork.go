package runtime

import (
	"context"
	"errors"
	"fmt"
)

// ErrForkUnsupported is returned by Fork for modules the host could not
// prepare for snapshots (see RATIONALE.md).
var ErrForkUnsupported = errors.New("module does not support snapshots")

// Fork copies a live episode into an independent one: the same guest memory,
// globals, virtual clock and random state. From then on the two evolve
// separately; given the same actions, each continues exactly as a fresh
// episode replayed to this point would. Forking a group's common start state
// once is much cheaper than resetting every member.
func (ep *Episode) Fork(ctx context.Context) (*Episode, error) {
	if ep.closed || ep.in.dead != nil || ep.in.mod == nil {
		return nil, fmt.Errorf("fork: %w", ErrClosed)
	}
	e := ep.in.env
	if e.snap == nil {
		return nil, fmt.Errorf("fork %s: %w", e.spec.Name, ErrForkUnsupported)
	}
	in, err := e.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("fork %s: %w", e.spec.Name, err)
	}
	// Both instances started from the snapshot. Where the parent's written
	// pages are tracked, copying those (and the small state) makes the
	// copy; otherwise the whole memory is copied.
	if !in.copyWritten(ep.in) {
		state, err := ep.in.capture()
		if err != nil {
			in.close(ctx)
			return nil, fmt.Errorf("fork %s: %w", e.spec.Name, err)
		}
		if !in.restore(state) {
			in.close(ctx)
			return nil, fmt.Errorf("fork %s: could not copy the episode's state", e.spec.Name)
		}
	}
	in.sys.backend = ep.in.sys.backend.clone()
	return &Episode{in: in, seed: ep.seed, task: ep.task, done: ep.done}, nil
}
