package plugins

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/trainer"
)

// Batching defaults; see BatchConfig.
const (
	DefaultMaxBatch = 64
	DefaultWindow   = time.Millisecond
)

// BatchConfig says how a Batcher groups observations.
//
// A batch is sent when it is full, when no other batch is in flight (an
// idle plugin is never kept waiting), or when its first observation has
// waited Window while other batches were in flight. So batches grow only
// when the plugin is busy, which is when they pay: a lone episode pays no
// latency for batching, and many episodes share round trips.
type BatchConfig struct {
	// MaxBatch caps the observations of one Act call. 0 takes the plugin's
	// Info.MaxBatch, then DefaultMaxBatch.
	MaxBatch int
	// Window bounds how long an observation waits for a busy plugin before
	// its batch is sent alongside the batches in flight. 0 means
	// DefaultWindow; a negative window never waits. A plugin that batches
	// model inference wants a window near its inference time, so that a
	// batch fills while the previous one runs.
	Window time.Duration
}

// Batcher is a trainer.Policy that plays episodes with a plugin Policy,
// gathering the Act calls of concurrently running episodes into batches so
// that one round trip serves many episodes (see BatchConfig for when a
// batch is sent).
//
// # Notes
//
//   - Batches may overlap: a full batch, or one whose window passed, is sent
//     whether or not earlier ones have been answered.
//   - A call is canceled when every episode in it has given up (its context
//     is done), or when the Batcher is closed.
//   - Close the Batcher before the plugin's Client: closing the Client fails
//     the calls in flight with ErrUnavailable.
type Batcher struct {
	p      Policy
	name   string
	max    int
	window time.Duration

	queue    chan *request
	finished chan struct{}   // a call in flight returned
	ctx      context.Context // canceled by Close; the parent of every call
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the dispatcher and the calls in flight
	closed   sync.Once
	// queued, when set (by tests), is called by the dispatcher with the
	// number of observations waiting after each arrival.
	queued func(int)
}

type request struct {
	ctx   context.Context
	obs   Observation
	reply chan Action // buffered: a reply never waits for a requester that gave up
}

// NewBatcher asks p to describe itself and returns a Batcher playing it.
func NewBatcher(ctx context.Context, p Policy, cfg BatchConfig) (*Batcher, error) {
	b, err := newBatcher(ctx, p, cfg)
	if err != nil {
		return nil, err
	}
	return b.run(), nil
}

// newBatcher makes a Batcher without starting it, so that tests can set
// hooks before the dispatcher reads them.
func newBatcher(ctx context.Context, p Policy, cfg BatchConfig) (*Batcher, error) {
	info, err := p.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy plugin: %w", err)
	}
	b := &Batcher{p: p, name: "plugin", max: cfg.MaxBatch, window: cfg.Window,
		queue: make(chan *request), finished: make(chan struct{})}
	if info.Name != "" {
		b.name = "plugin:" + info.Name
	}
	if b.max <= 0 {
		b.max = info.MaxBatch
	}
	if b.max <= 0 {
		b.max = DefaultMaxBatch
	}
	if b.window == 0 {
		b.window = DefaultWindow
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// run starts the dispatcher.
func (b *Batcher) run() *Batcher {
	b.wg.Add(1)
	go b.dispatch()
	return b
}

// Name is "plugin:NAME", NAME being the name the plugin describes itself by.
func (b *Batcher) Name() string { return b.name }

// Start returns the agent of one episode.
func (b *Batcher) Start(_ context.Context, ep trainer.EpisodeInfo) (trainer.Agent, error) {
	return trainer.AgentFunc(func(ctx context.Context, msgs []abi.Message) (abi.Message, error) {
		a, err := b.act(ctx, Observation{Episode: ep.Index, Seed: ep.Seed, Task: ep.Task, Tools: ep.Tools, Messages: msgs})
		if err == nil {
			err = a.Err
		}
		if err != nil {
			return abi.Message{}, fmt.Errorf("%w: %s: %w", trainer.ErrPolicy, b.name, err)
		}
		return a.Message, nil
	}), nil
}

// Close stops batching, cancels the calls in flight and waits for them.
// Episodes still acting fail with ErrUnavailable. Close does not stop the
// plugin: close its Client for that.
func (b *Batcher) Close() error {
	b.closed.Do(func() {
		b.cancel()
		b.wg.Wait()
	})
	return nil
}

func (b *Batcher) act(ctx context.Context, obs Observation) (Action, error) {
	r := &request{ctx: ctx, obs: obs, reply: make(chan Action, 1)}
	select {
	case b.queue <- r:
	case <-ctx.Done():
		return Action{}, ctx.Err()
	case <-b.ctx.Done():
		return Action{}, fmt.Errorf("%w: the batcher is closed", ErrUnavailable)
	}
	select {
	case a := <-r.reply:
		return a, nil
	case <-ctx.Done():
		return Action{}, ctx.Err()
	}
}

// dispatch gathers requests into batches and sends each in its own
// goroutine, so that a slow batch does not hold back the next.
func (b *Batcher) dispatch() {
	defer b.wg.Done()
	var (
		pending  []*request
		inFlight int
		timer    = time.NewTimer(time.Hour)
		waited   bool // the window of pending's first request has passed
	)
	timer.Stop()
	defer timer.Stop()
	for {
		if len(pending) > 0 && (len(pending) >= b.max || inFlight == 0 || waited || b.window < 0) {
			n := min(len(pending), b.max)
			batch := pending[:n:n]
			pending = append([]*request(nil), pending[n:]...)
			inFlight++
			b.wg.Add(1)
			go b.send(batch)
			timer.Stop()
			waited = false
			if len(pending) > 0 && b.window > 0 {
				timer.Reset(b.window)
			}
			continue
		}
		select {
		case r := <-b.queue:
			pending = append(pending, r)
			if len(pending) == 1 && b.window > 0 {
				timer.Reset(b.window)
			}
			if b.queued != nil {
				b.queued(len(pending))
			}
		case <-b.finished:
			inFlight--
		case <-timer.C:
			waited = true
		case <-b.ctx.Done():
			fail(pending, fmt.Errorf("%w: the batcher is closed", ErrUnavailable))
			return
		}
	}
}

func (b *Batcher) send(batch []*request) {
	defer b.wg.Done()
	defer func() {
		select {
		case b.finished <- struct{}{}:
		case <-b.ctx.Done(): // the dispatcher is gone
		}
	}()
	// Requesters that already gave up need no action, and a call that no
	// one waits for is not made.
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() == nil {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var waiting atomic.Int64
	waiting.Store(int64(len(live)))
	obs := make([]Observation, len(live))
	for i, r := range live {
		obs[i] = r.obs
		stop := context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	acts, err := b.p.Act(ctx, obs)
	switch {
	case err != nil && b.ctx.Err() != nil:
		err = fmt.Errorf("%w: the batcher was closed during the call", ErrUnavailable)
	case err == nil && len(acts) != len(obs):
		err = fmt.Errorf("%w: %d actions for %d observations", ErrProtocol, len(acts), len(obs))
	}
	if err != nil {
		fail(live, err)
		return
	}
	for i, r := range live {
		r.reply <- acts[i]
	}
}

func fail(batch []*request, err error) {
	for _, r := range batch {
		r.reply <- Action{Err: err}
	}
}
