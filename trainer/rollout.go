package trainer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// DefaultMaxTurns applies when neither the options nor the env's spec set a
// turn limit.
const DefaultMaxTurns = 32

// Options configure a rollout.
type Options struct {
	// Episodes is the number of episodes to run.
	Episodes int
	// Seed is the base seed: episode i runs with seed Seed+i.
	Seed uint64
	// Tasks, when set, lists the tasks to cycle through: episode i plays
	// Tasks[i mod len(Tasks)]. By default episode i plays task i mod
	// spec.Tasks.
	Tasks []int
	// Concurrency is how many episodes run at once (default 1).
	Concurrency int
	// MaxTurns bounds actions per episode; 0 takes the env's spec.MaxTurns,
	// then DefaultMaxTurns.
	MaxTurns int
	// GroupSize, when above 1, plays episodes in groups (as GRPO samples
	// several completions of one prompt): the episodes of group g share the
	// seed Seed+g and the task of g, and start from one reset forked into
	// every member instead of one reset each. Episode indexes still run
	// 0..Episodes-1.
	GroupSize int
	// Progress, when set, is called after each finished episode.
	Progress func(done, total int)
	// Start options apply to every episode, for example
	// runtime.WithBackend to grant a backend.
	Start []trt.StartOption
}

// Summary totals a rollout.
type Summary struct {
	Episodes   int
	MeanReward float64
	Faults     int
	MaxTurns   int // episodes cut by the turn limit
	Elapsed    time.Duration
}

// EpisodesPerSecond is the rollout's throughput.
func (s Summary) EpisodesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Episodes) / s.Elapsed.Seconds()
}

// Rollout runs opts.Episodes episodes of env with pol and hands each
// trajectory to emit in episode order, whatever the concurrency, so output
// files are identical across runs. A faulting episode yields a trajectory
// with a fault termination and does not stop the rollout; an emit error or
// a canceled ctx does.
func Rollout(ctx context.Context, env *trt.Env, pol Policy, opts Options, emit func(*Trajectory) error) (Summary, error) {
	spec := env.Spec()
	if opts.Episodes < 0 {
		return Summary{}, fmt.Errorf("rollout: negative episode count")
	}
	for _, t := range opts.Tasks {
		if t < 0 || t >= spec.Tasks {
			return Summary{}, fmt.Errorf("rollout: task %d out of range [0,%d)", t, spec.Tasks)
		}
	}
	conc := max(opts.Concurrency, 1)
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	group := max(opts.GroupSize, 1)
	groups := (opts.Episodes + group - 1) / group
	jobs := make(chan int)
	results := make(chan *Trajectory, conc)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				first := g * group
				n := min(group, opts.Episodes-first)
				seed, task := opts.Seed+uint64(g), opts.task(g, spec.Tasks)
				var ts []*Trajectory
				if n == 1 {
					ts = []*Trajectory{RunEpisode(ctx, env, pol, first, seed, task, opts.maxTurns(spec), opts.Start...)}
				} else {
					ts = RunGroup(ctx, env, pol, first, n, seed, task, opts.maxTurns(spec), opts.Start...)
				}
				for _, t := range ts {
					select {
					case results <- t:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for g := 0; g < groups; g++ {
			select {
			case jobs <- g:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var sum Summary
	var total float64
	pending := map[int]*Trajectory{}
	next := 0
	var emitErr error
	for t := range results {
		pending[t.Episode] = t
		for pending[next] != nil && emitErr == nil {
			t := pending[next]
			delete(pending, next)
			next++
			sum.Episodes++
			total += t.Reward
			switch t.Termination.Reason {
			case ReasonFault:
				sum.Faults++
			case ReasonMaxTurns:
				sum.MaxTurns++
			}
			if err := emit(t); err != nil {
				emitErr = err
				cancel()
			}
			if opts.Progress != nil {
				opts.Progress(sum.Episodes, opts.Episodes)
			}
		}
	}
	sum.Elapsed = time.Since(start)
	if sum.Episodes > 0 {
		sum.MeanReward = total / float64(sum.Episodes)
	}
	if emitErr != nil {
		return sum, fmt.Errorf("rollout: %w", emitErr)
	}
	if err := ctx.Err(); err != nil && sum.Episodes < opts.Episodes {
		return sum, fmt.Errorf("rollout: %w", err)
	}
	return sum, nil
}

func (o Options) task(i, tasks int) int {
	if len(o.Tasks) > 0 {
		return o.Tasks[i%len(o.Tasks)]
	}
	return i % tasks
}

func (o Options) maxTurns(spec abi.Spec) int {
	switch {
	case o.MaxTurns > 0:
		return o.MaxTurns
	case spec.MaxTurns > 0:
		return spec.MaxTurns
	}
	return DefaultMaxTurns
}

// RunEpisode plays one episode and returns its trajectory. It never returns
// an error: failures end the episode with a fault termination.
func RunEpisode(ctx context.Context, env *trt.Env, pol Policy, index int, seed uint64, task, maxTurns int, start ...trt.StartOption) *Trajectory {
	t := newTrajectory(env, pol, index, seed, task, maxTurns)
	ep, obs, err := env.Start(ctx, seed, task, start...)
	if err != nil {
		t.fault("start", err)
		t.Digest = t.ComputeDigest()
		return t
	}
	defer ep.Close(ctx)
	t.play(ctx, env, pol, ep, obs)
	return t
}

// RunGroup plays n episodes of one seed and task (indexes first..first+n-1)
// from a single reset: the started episode is forked into every member
// before anyone acts. Each trajectory is identical to what RunEpisode would
// record for the same actions.
func RunGroup(ctx context.Context, env *trt.Env, pol Policy, first, n int, seed uint64, task, maxTurns int, start ...trt.StartOption) []*Trajectory {
	out := make([]*Trajectory, n)
	for k := range out {
		out[k] = newTrajectory(env, pol, first+k, seed, task, maxTurns)
	}
	root, obs, err := env.Start(ctx, seed, task, start...)
	if err != nil {
		for _, t := range out {
			t.fault("start", err)
			t.Digest = t.ComputeDigest()
		}
		return out
	}
	members := make([]*trt.Episode, n)
	members[0] = root
	for k := 1; k < n; k++ {
		if members[k], err = root.Fork(ctx); err != nil {
			// Without snapshots, members start on their own.
			members[k] = nil
		}
	}
	for k, t := range out {
		ep, o := members[k], obs
		if ep == nil {
			if ep, o, err = env.Start(ctx, seed, task, start...); err != nil {
				t.fault("start", err)
				t.Digest = t.ComputeDigest()
				continue
			}
		}
		t.play(ctx, env, pol, ep, o)
		ep.Close(ctx)
	}
	return out
}

func newTrajectory(env *trt.Env, pol Policy, index int, seed uint64, task, maxTurns int) *Trajectory {
	spec := env.Spec()
	fuel, _ := env.Fuel()
	return &Trajectory{
		Format: Format, Episode: index, Seed: seed, Task: task, Policy: pol.Name(), MaxTurns: maxTurns, FuelPerStep: fuel,
		Env:   EnvRef{Name: spec.Name, Version: spec.Version, SHA256: env.SHA256(), ConfigSHA256: env.ConfigSHA256(), Source: env.Name()},
		Tools: []abi.Tool{}, Messages: []abi.Message{},
	}
}

// play runs a started episode to its end and fills in t.
func (t *Trajectory) play(ctx context.Context, env *trt.Env, pol Policy, ep *trt.Episode, obs *abi.Observation) {
	defer func() {
		t.BackendCalls = recordCalls(ep.BackendCalls())
		t.Digest = t.ComputeDigest()
	}()
	t.Tools = obs.Tools
	t.Messages = append(t.Messages, obs.Messages...)
	info := EpisodeInfo{Index: t.Episode, Seed: t.Seed, Task: t.Task, Tools: obs.Tools}
	if env.HasOracle() {
		info.Oracle = ep.Oracle
	}
	agent, err := pol.Start(ctx, info)
	if err != nil {
		t.fault("act", err)
		return
	}
	done := false
	for t.Turns < t.MaxTurns && !done {
		act, err := agent.Act(ctx, t.Messages)
		if err != nil {
			t.fault("act", err)
			return
		}
		act.Role = abi.RoleAssistant
		t.Messages = append(t.Messages, act)
		t.Turns++
		res, err := ep.Step(ctx, act)
		if err != nil {
			t.fault("step", err)
			return
		}
		t.Messages = append(t.Messages, res.Messages...)
		done = res.Done
	}
	score, err := ep.Score(ctx)
	if err != nil {
		t.fault("score", err)
		return
	}
	t.Reward, t.Components = score.Reward, score.Components
	t.Termination.Reason = ReasonMaxTurns
	if done {
		t.Termination.Reason = ReasonDone
	}
}

func (t *Trajectory) fault(op string, err error) {
	info := &FaultInfo{Op: op, Turn: t.Turns, Message: err.Error()}
	var f *trt.Fault
	var ge *trt.GuestError
	switch {
	case errors.As(err, &f):
		info.Kind = string(f.Kind)
		info.Message = f.Reason
	case errors.As(err, &ge):
		info.Kind = "refused"
		info.Message = ge.Message
	case op == "act":
		info.Kind = "policy"
	default:
		info.Kind = "host"
	}
	t.Reward, t.Components = 0, nil
	t.Termination = Termination{Reason: ReasonFault, Fault: info}
}
