package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/trainer"
)

// echoEpisode answers each observation with its episode number and message
// count, so that a test can tell whether every agent got its own action.
func echoEpisode(o Observation) Action {
	return Action{Message: abi.Message{Role: abi.RoleAssistant, Content: fmt.Sprintf("%d/%d", o.Episode, len(o.Messages))}}
}

func testBatcher(t testing.TB, p Policy, cfg BatchConfig, queued func(int)) *Batcher {
	t.Helper()
	b, err := newBatcher(context.Background(), p, cfg)
	if err != nil {
		t.Fatalf("new batcher: %v", err)
	}
	b.queued = queued
	b.run()
	t.Cleanup(func() { b.Close() })
	return b
}

func agent(t *testing.T, b *Batcher, episode int) trainer.Agent {
	t.Helper()
	a, err := b.Start(context.Background(), trainer.EpisodeInfo{Index: episode, Seed: uint64(episode) + 100})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return a
}

// gated answers like scripted, except that its first call waits for
// release: it keeps the plugin busy for as long as a test needs.
type gated struct {
	scripted
	release chan struct{}
	first   atomic.Bool
}

func newGated(info Info) *gated {
	return &gated{scripted: scripted{info: info, act: echoEpisode, seen: make(chan []Observation, 100)}, release: make(chan struct{})}
}

func (g *gated) Act(ctx context.Context, obs []Observation) ([]Action, error) {
	if g.first.CompareAndSwap(false, true) {
		defer func() { <-g.release }()
	}
	return g.scripted.Act(ctx, obs)
}

// actAsync has agents for episodes from..to-1 act at once; the returned
// function waits for them and checks that each got its own answer.
func actAsync(t *testing.T, b *Batcher, from, to int) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	for i := from; i < to; i++ {
		a := agent(t, b, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := a.Act(context.Background(), make([]abi.Message, i%3))
			if want := fmt.Sprintf("%d/%d", i, i%3); err != nil || m.Content != want {
				errs <- fmt.Errorf("agent %d got %q, %v; want %q", i, m.Content, err, want)
			}
		}()
	}
	return func() {
		t.Helper()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

func sizes(t *testing.T, seen chan []Observation, n int) string {
	t.Helper()
	var out []int
	for i := 0; i < n; i++ {
		out = append(out, len(<-seen))
	}
	return fmt.Sprint(out)
}

func TestBatcherIdleSendsAtOnce(t *testing.T) {
	// With a window far longer than any test, an idle plugin still gets a
	// lone observation at once.
	b := testBatcher(t, &scripted{info: Info{Name: "s"}, act: echoEpisode}, BatchConfig{Window: time.Hour}, nil)
	if b.Name() != "plugin:s" {
		t.Fatalf("name %q, want plugin:s", b.Name())
	}
	actAsync(t, b, 0, 1)()
}

func TestBatcherFillsBatchesWhileBusy(t *testing.T) {
	g := newGated(Info{MaxBatch: 4})
	queued := make(chan int, 100)
	b := testBatcher(t, g, BatchConfig{Window: time.Hour}, func(n int) { queued <- n })
	// Episode 0 goes alone to an idle plugin, which then stays busy.
	wait0 := actAsync(t, b, 0, 1)
	if got := sizes(t, g.seen, 1); got != "[1]" {
		t.Fatalf("first batch %s, want [1]", got)
	}
	// Full batches go at once, busy or not.
	actAsync(t, b, 1, 9)()
	if got := sizes(t, g.seen, 2); got != "[4 4]" {
		t.Fatalf("batches while busy %s, want [4 4]", got)
	}
	// A batch that is not full waits for the plugin to be idle again.
	for len(queued) > 0 {
		<-queued
	}
	wait := actAsync(t, b, 9, 12)
	for n := 0; n < 3; n = <-queued {
	}
	close(g.release)
	wait0()
	wait()
	if got := sizes(t, g.seen, 1); got != "[3]" {
		t.Fatalf("batch after the plugin was idle %s, want [3]", got)
	}
}

func TestBatcherConfigOverridesPlugin(t *testing.T) {
	g := newGated(Info{MaxBatch: 4})
	b := testBatcher(t, g, BatchConfig{MaxBatch: 6, Window: time.Hour}, nil)
	if b.Name() != "plugin" {
		t.Fatalf("name %q, want plugin for a plugin without a name", b.Name())
	}
	wait0 := actAsync(t, b, 0, 1)
	sizes(t, g.seen, 1)
	actAsync(t, b, 1, 13)()
	if got := sizes(t, g.seen, 2); got != "[6 6]" {
		t.Fatalf("batches %s, want [6 6]", got)
	}
	close(g.release)
	wait0()
}

func TestBatcherWindow(t *testing.T) {
	// While the plugin is busy, a batch that is not full goes when its
	// window has passed (or at once, with a negative window).
	for _, w := range []time.Duration{time.Microsecond, -1} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			g := newGated(Info{MaxBatch: 4})
			b := testBatcher(t, g, BatchConfig{Window: w}, nil)
			wait0 := actAsync(t, b, 0, 1)
			sizes(t, g.seen, 1)
			actAsync(t, b, 1, 2)() // returns while episode 0 is still held
			close(g.release)
			wait0()
		})
	}
}

func TestBatcherErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Policy
		want error
		msg  string
	}{
		{"batch fails", &scripted{actErr: fmt.Errorf("%w: plugin died", ErrUnavailable)}, ErrUnavailable, "plugin died"},
		{"episode fails", &scripted{act: func(Observation) Action { return Action{Err: errors.New("cannot")} }}, nil, "cannot"},
		{"short answer", shortPolicy{}, ErrProtocol, "0 actions for 1 observations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := testBatcher(t, c.p, BatchConfig{Window: -1}, nil)
			_, err := agent(t, b, 0).Act(context.Background(), nil)
			if !errors.Is(err, trainer.ErrPolicy) || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("act error = %v, want trainer.ErrPolicy, %v, containing %q", err, c.want, c.msg)
			}
		})
	}
}

func TestBatcherDescribeFails(t *testing.T) {
	_, err := NewBatcher(context.Background(), failingDescribe{}, BatchConfig{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("new batcher error = %v, want ErrUnavailable", err)
	}
}

type failingDescribe struct{ shortPolicy }

func (failingDescribe) Describe(context.Context) (Info, error) { return Info{}, ErrUnavailable }

func TestBatcherCancel(t *testing.T) {
	// An episode that gives up returns at once, and a call that no episode
	// waits for any more is canceled.
	entered := make(chan struct{})
	sawCancel := make(chan error, 1)
	b := testBatcher(t, blockingPolicy{entered: entered, canceled: sawCancel}, BatchConfig{Window: -1}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := agent(t, b, 0).Act(ctx, nil)
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("act error = %v, want context.Canceled", err)
	}
	if err := <-sawCancel; !errors.Is(err, context.Canceled) {
		t.Fatalf("the call's context ended with %v, want context.Canceled", err)
	}
}

func TestBatcherClose(t *testing.T) {
	entered := make(chan struct{})
	sawCancel := make(chan error, 1)
	b := testBatcher(t, blockingPolicy{entered: entered, canceled: sawCancel}, BatchConfig{Window: -1}, nil)
	a := agent(t, b, 0)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Act(context.Background(), nil)
		errc <- err
	}()
	<-entered
	b.Close()
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("act in flight during Close: %v, want ErrUnavailable", err)
	}
	if err := <-sawCancel; !errors.Is(err, context.Canceled) {
		t.Fatalf("the call's context ended with %v, want context.Canceled", err)
	}
	if _, err := a.Act(context.Background(), nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("act after Close: %v, want ErrUnavailable", err)
	}
	b.Close() // idempotent
}

func TestBatcherHammer(t *testing.T) {
	// Many agents acting many times over a real gRPC connection: each must
	// always get its own answer, and no batch may exceed the cap.
	const agents, turns, maxBatch = 32, 20, 5
	seen := make(chan []Observation, agents*turns)
	b := testBatcher(t, connect(t, &scripted{act: echoEpisode, seen: seen}), BatchConfig{MaxBatch: maxBatch, Window: 50 * time.Microsecond}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for i := 0; i < agents; i++ {
		a := agent(t, b, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for turn := 0; turn < turns; turn++ {
				m, err := a.Act(context.Background(), make([]abi.Message, turn))
				if want := fmt.Sprintf("%d/%d", i, turn); err != nil || m.Content != want {
					errs <- fmt.Errorf("agent %d turn %d: got %q, %v; want %q", i, turn, m.Content, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(seen)
	total := 0
	for batch := range seen {
		if len(batch) > maxBatch {
			t.Fatalf("batch of %d over the cap %d", len(batch), maxBatch)
		}
		total += len(batch)
	}
	if total != agents*turns {
		t.Fatalf("%d observations sent, want %d", total, agents*turns)
	}
}
