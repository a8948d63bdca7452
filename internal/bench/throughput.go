package bench

import (
	"context"
	"fmt"
	"time"

	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

// rollout is an episodes/s figure: oracle episodes through trainer.Rollout
// (the engine terrarium run uses) at one concurrency.
type rollout struct {
	name     string
	baseline string
	env      *trt.Env
	conc     int
	episodes int       // per sample
	perEp    []float64 // microseconds of wall clock per episode, per sample
	cores    []float64 // CPU cores the process used, per sample
	seed     uint64
}

func (ro *rollout) run(ctx context.Context, n int) (time.Duration, error) {
	sum, err := trainer.Rollout(ctx, ro.env, trainer.OraclePolicy(),
		trainer.Options{Episodes: n, Concurrency: ro.conc, Seed: ro.seed}, func(*trainer.Trajectory) error { return nil })
	ro.seed += uint64(n)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", ro.name, err)
	}
	if sum.Faults > 0 || sum.MeanReward < fullReward {
		return 0, fmt.Errorf("%s: oracle rollout had %d faults and mean reward %v, want none and 1", ro.name, sum.Faults, sum.MeanReward)
	}
	return sum.Elapsed, nil
}

// calibrate sizes a sample to last about d.
func (ro *rollout) calibrate(ctx context.Context, d time.Duration) error {
	n := 2 * ro.conc
	el, err := ro.run(ctx, n)
	if err != nil {
		return err
	}
	ro.episodes = max(2*ro.conc, int(float64(n)*float64(d)/float64(max(el, 1))))
	return nil
}

func (ro *rollout) sample(ctx context.Context) error {
	c0 := cpuTime()
	el, err := ro.run(ctx, ro.episodes)
	if err != nil {
		return err
	}
	ro.perEp = append(ro.perEp, float64(el.Nanoseconds())/1e3/float64(ro.episodes))
	ro.cores = append(ro.cores, float64(cpuTime()-c0)/float64(max(el, 1)))
	return nil
}

func (ro *rollout) result() Result {
	rate := func(us float64) float64 { return 1e6 / us }
	return Result{Name: ro.name, Unit: UnitRate, Baseline: ro.baseline,
		P50: rate(quantile(ro.perEp, 0.5)), P90: rate(quantile(ro.perEp, 0.9)),
		Samples: len(ro.perEp), Ops: len(ro.perEp) * ro.episodes,
		Note: fmt.Sprintf("oracle episodes through trainer.Rollout at concurrency %d; the process used %.2f CPU cores (median)", ro.conc, quantile(ro.cores, 0.5))}
}

// rollouts lists the episodes/s figures: the Go and JavaScript envs at
// every concurrency from 1 to Options.Concurrency.
func (r *runner) rollouts() []*rollout {
	var out []*rollout
	for _, k := range []string{"go", "js"} {
		for c := 1; c <= r.opts.Concurrency; c++ {
			ro := &rollout{name: fmt.Sprintf("episodes/%s/c%d", k, c), env: r.envs[k], conc: c}
			if c > 1 {
				ro.baseline = fmt.Sprintf("episodes/%s/c1", k)
			}
			out = append(out, ro)
		}
	}
	return out
}
