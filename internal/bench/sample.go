package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// timed is a measurement of an operation's latency.
type timed struct {
	Result
	// op runs the operation once.
	op func(ctx context.Context) error
	// between, when set, runs untimed before each sample (to restart an
	// episode that has taken many steps, for example).
	between func(ctx context.Context) error
	// own, when set, reports a running total of time spent in the part of
	// op that the figure is about, and how many times that part ran: each
	// sample is then that part's mean time over the batch rather than
	// op's.
	own func() (time.Duration, int64)

	batch   int
	samples []float64 // microseconds per operation
	faults  int64
	ops     int
}

// maxBatch bounds a batch, so that a very fast operation does not run for
// millions of iterations per sample.
const maxBatch = 1 << 16

// calibrate warms op up and sizes its batch to last about d.
func (t *timed) calibrate(ctx context.Context, d time.Duration) error {
	if t.between != nil {
		if err := t.between(ctx); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	for n := 1; ; n *= 2 {
		begin := time.Now()
		for range n {
			if err := t.op(ctx); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
		el := time.Since(begin)
		if el >= d/2 || n >= maxBatch {
			t.batch = max(1, min(maxBatch, int(float64(n)*float64(d)/float64(max(el, 1)))))
			return nil
		}
	}
}

// sample takes one timed sample.
func (t *timed) sample(ctx context.Context) error {
	if t.between != nil {
		if err := t.between(ctx); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var own0 time.Duration
	var n0 int64
	if t.own != nil {
		own0, n0 = t.own()
	}
	f0 := minorFaults()
	begin := time.Now()
	for range t.batch {
		if err := t.op(ctx); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	el := time.Since(begin)
	t.faults += minorFaults() - f0
	n := int64(t.batch)
	if t.own != nil {
		own1, n1 := t.own()
		if n1 == n0 {
			return fmt.Errorf("%s: no operation was counted", t.Name)
		}
		el, n = own1-own0, n1-n0
	}
	t.ops += int(n)
	t.samples = append(t.samples, float64(el.Nanoseconds())/1e3/float64(n))
	return nil
}

// result summarizes the samples.
func (t *timed) result() Result {
	r := t.Result
	r.Unit = UnitMicros
	r.P50, r.P90 = quantile(t.samples, 0.5), quantile(t.samples, 0.9)
	r.Samples, r.Ops = len(t.samples), t.ops
	if t.ops > 0 {
		r.FaultsPerOp = float64(t.faults) / float64(t.ops)
	}
	return r
}

// quantile returns the q-quantile of xs, interpolating linearly between
// the two nearest ranks (the definition of R's default and NumPy's linear
// method), or NaN for no samples.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}
