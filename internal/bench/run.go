package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// run takes every measurement, in this order: the latency figures in
// interleaved rounds, the episodes/s figures in interleaved rounds, then
// memory (last, since it measures the growth of the whole process).
func (r *runner) run(ctx context.Context) error {
	cases := r.timedCases()
	raw, err := r.rawCases(ctx)
	if err != nil {
		return err
	}
	for _, p := range raw {
		cases = insertAfter(cases, p.after, p.c)
	}
	ros := r.rollouts()
	for _, c := range cases {
		if err := c.calibrate(ctx, r.opts.SampleTime); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		r.progress()
	}
	for range r.opts.Samples {
		for _, c := range cases {
			if err := c.sample(ctx); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
		r.progress()
	}
	for _, c := range cases {
		r.results = append(r.results, c.result())
	}

	var free []float64
	for _, ro := range ros {
		if err := ro.calibrate(ctx, r.opts.RolloutTime); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		r.progress()
	}
	for range r.opts.Samples {
		free = append(free, availableCores(20*time.Millisecond))
		for _, ro := range ros {
			if err := ro.sample(ctx); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
		r.progress()
	}
	r.cores = quantile(free, 0.5)
	for _, ro := range ros {
		r.results = append(r.results, ro.result())
	}

	mem, err := r.memoryResults(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r.results = append(r.results, mem...)
	return nil
}

// availableCores spins GOMAXPROCS goroutines for d and returns the CPU
// cores the process got: less than GOMAXPROCS when other work shares the
// machine, which caps what the episodes/s figures can show.
func availableCores(d time.Duration) float64 {
	c0, begin := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for x := 0; time.Since(begin) < d; x++ {
			}
		})
	}
	wg.Wait()
	return float64(cpuTime()-c0) / float64(time.Since(begin))
}

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS,
		Arch: runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// insertAfter inserts c after the case called name, or at the end.
func insertAfter(cases []*timed, name string, c *timed) []*timed {
	for i, x := range cases {
		if x.Name == name {
			return slices.Insert(cases, i+1, c)
		}
	}
	return append(cases, c)
}
