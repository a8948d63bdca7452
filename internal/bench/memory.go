package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// gib8 is the memory the live-episode target is stated for.
const gib8 = 8 << 30

// held is what hold measured.
type held struct {
	episodes int
	heap     int64     // growth of the host's Go heap with all of them live, bytes
	grown    int64     // memory growth with all of them live, bytes
	perEp    []float64 // growth per episode, bytes, one per chunk
}

// settledUsage collects garbage and returns freed memory to the system
// before reading the memory usage, so that only live memory counts. It also
// returns the live Go heap, which holds wazero's per-instance structures.
func settledUsage() (usage, heap int64, err error) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	usage, err = memoryUsage()
	return usage, int64(ms.HeapAlloc), err
}

// hold loads src afresh (so that no idle instance is counted) and keeps
// episodes of it live, each started and one step taken, adding them in
// chunks and measuring the memory growth after each chunk. It stops after
// count episodes, or, when budget is above 0, at the first chunk that
// brings the growth to budget or beyond (the episodes held are then those
// before that chunk).
func (r *runner) hold(ctx context.Context, src trt.Source, first firstAction, count int, budget int64, chunk int) (*held, error) {
	env, err := r.reuse.Load(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer env.Close(ctx)
	var live []*trt.Episode
	defer func() {
		for _, ep := range live {
			ep.Close(ctx)
		}
	}()
	base, heap0, err := settledUsage()
	if err != nil {
		return nil, err
	}
	h := &held{}
	prev := base
	for budget > 0 || len(live) < count {
		n := chunk
		if budget == 0 {
			n = min(chunk, count-len(live))
		}
		eps, err := startLive(ctx, env, first, uint64(len(live)), n)
		live = append(live, eps...)
		if err != nil {
			return nil, err
		}
		now, heap, err := settledUsage()
		if err != nil {
			return nil, err
		}
		if budget > 0 && now-base >= budget {
			return h, nil
		}
		h.episodes, h.grown, h.heap = len(live), now-base, heap-heap0
		h.perEp = append(h.perEp, float64(now-prev)/float64(n))
		prev = now
		r.progress()
	}
	return h, nil
}

// startLive starts n episodes on GOMAXPROCS goroutines, each with one step
// taken.
func startLive(ctx context.Context, env *trt.Env, first firstAction, seed0 uint64, n int) ([]*trt.Episode, error) {
	eps := make([]*trt.Episode, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				ep, _, err := env.Start(ctx, seed0+uint64(i), 0)
				if err != nil {
					errs[i] = err
					continue
				}
				eps[i] = ep
				act, err := first(ctx, ep.Step)
				if err == nil {
					var res *abi.StepResult
					if res, err = ep.Step(ctx, act); err == nil {
						err = oneTool(res)
					}
				}
				errs[i] = err
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []*trt.Episode
	var firstErr error
	for i, ep := range eps {
		if ep != nil {
			out = append(out, ep)
		}
		if errs[i] != nil && firstErr == nil {
			firstErr = fmt.Errorf("live episode %d: %w", seed0+uint64(i), errs[i])
		}
	}
	return out, firstErr
}

// memoryResults measures memory per live episode of the Go and JavaScript
// envs and extrapolates it to 8 GiB. With a budget, the JavaScript figure
// comes from filling the budget with episodes, and how many fit is
// reported too; without, from Options.Live episodes as for Go.
func (r *runner) memoryResults(ctx context.Context) ([]Result, error) {
	chunk := max(1, r.opts.Live/5)
	var out, live []Result
	for _, m := range []struct {
		key    string
		src    trt.Source
		first  firstAction
		what   string
		budget int64
	}{
		{"go", r.src.goEcho, sayStart, "echo env (Go SDK)", 0},
		{"js", r.src.jsInv, inventoryStart, "js-inventory", r.opts.MemoryBudget},
	} {
		h, err := r.hold(ctx, m.src, m.first, r.opts.Live, m.budget, chunk)
		if err != nil {
			return nil, fmt.Errorf("memory/live-episode-%s: %w", m.key, err)
		}
		if len(h.perEp) == 0 {
			return nil, fmt.Errorf("memory/live-episode-%s: the first %d episodes alone exceed the budget of %s", m.key, chunk, formatBytes(m.budget))
		}
		res := Result{Name: "memory/live-episode-" + m.key, Unit: UnitBytes,
			P50: quantile(h.perEp, 0.5), P90: quantile(h.perEp, 0.9), Samples: len(h.perEp), Ops: h.episodes,
			Note: fmt.Sprintf("growth of the process's proportional set size per live %s episode (started, one step taken), %d held, added %d at a time; %s of it per episode is the host's Go heap",
				m.what, h.episodes, chunk, formatBytes(h.heap/int64(h.episodes)))}
		out = append(out, res)
		live = append(live, Result{Name: "live/" + m.key + "-in-8GiB", Unit: UnitEpisodes,
			P50: float64(int64(gib8 / res.P50)), P90: float64(int64(gib8 / res.P90)), Samples: res.Samples,
			Note: "extrapolated: 8 GiB divided by " + res.Name})
		if m.budget > 0 {
			live = append(live, Result{Name: "live/" + m.key + "-in-budget", Unit: UnitEpisodes,
				P50: float64(h.episodes), P90: float64(h.episodes), Samples: 1,
				Note: fmt.Sprintf("%s episodes actually held live within a budget of %s (they grew memory by %s)", m.what, formatBytes(m.budget), formatBytes(h.grown))})
		}
	}
	return append(out, live...), nil
}

// formatBytes renders n in the largest binary unit that keeps it at least 1.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', -1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// parseRollup returns the field called key of an smaps_rollup file (lines
// such as "Pss:      1234 kB"), in bytes.
func parseRollup(b []byte, key string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(name) != key {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%s: malformed line %q", key, sc.Bytes())
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil || kb > 1<<40 {
			return 0, fmt.Errorf("%s: malformed size %q", key, f[0])
		}
		return int64(kb) << 10, nil
	}
	return 0, fmt.Errorf("no %s line", key)
}
