package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/internal/envload"
	"github.com/terrarium-rl/terrarium/internal/progress"
	"github.com/terrarium-rl/terrarium/trainer"
)

var runFlags struct {
	env         string
	policy      string
	episodes    int
	seed        uint64
	concurrency int
	maxTurns    int
	tasks       []int
	out         string
	host        hostFlags
}

var cmdRun = &Command{
	Name:  "run",
	Usage: "run --env PATH [--policy P] [--episodes N] [-o FILE.jsonl] [flags]",
	Short: "run episodes of an environment with a policy and record trajectories",
	Long: `Run plays episodes of an environment with a policy and writes one trajectory
per episode as a JSON line (docs/trajectory.md).

PATH is an environment directory (Go or JavaScript source, or a pack) or a
.wasm module. Episode i plays task i mod tasks with seed S+i, unless --task
lists the tasks to cycle through. Trajectories are written in episode order
whatever the concurrency, so the same command writes the same bytes.

Policies:
  oracle          the environment's reference solution
  random          random tool calls with arguments drawn from the schemas
  null            an empty final answer at once (should score 0)
  replay:FILE     the actions recorded in a trajectory file

A progress bar is drawn on a terminal; a summary (episodes, mean reward,
faults, episodes/s) is printed to stderr at the end. Exit status 1 when an
episode faulted.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVar(&runFlags.env, "env", "", "environment directory or .wasm module (required)")
		fs.StringVar(&runFlags.policy, "policy", "oracle", "oracle, random, null or replay:FILE")
		fs.IntVarP(&runFlags.episodes, "episodes", "n", 10, "number of episodes")
		fs.Uint64Var(&runFlags.seed, "seed", 1, "base seed: episode i runs with seed S+i")
		fs.IntVarP(&runFlags.concurrency, "concurrency", "j", 1, "episodes run at once")
		fs.IntVar(&runFlags.maxTurns, "max-turns", 0, "turn limit per episode (default: the env's, else 32)")
		fs.IntSliceVar(&runFlags.tasks, "task", nil, "tasks to cycle through (default: all, in order)")
		fs.StringVarP(&runFlags.out, "output", "o", "", "trajectory file to write (- for stdout)")
		runFlags.host.register(fs)
	},
	Run: runRun,
}

func runRun(ctx context.Context, inv *Invocation) error {
	f := &runFlags
	if len(inv.Args) > 0 {
		return usagef("unexpected argument %q", inv.Args[0])
	}
	if f.env == "" {
		return usagef("--env is required")
	}
	if f.episodes < 1 || f.concurrency < 1 || f.maxTurns < 0 {
		return usagef("--episodes and --concurrency must be at least 1, --max-turns not negative")
	}
	pol, err := policyFromFlag(f.policy)
	if err != nil {
		return usagef("%s", err)
	}
	host, err := f.host.newHost(ctx)
	if err != nil {
		return err
	}
	defer host.Close(ctx)
	env, err := envload.Load(ctx, host, f.env)
	if err != nil {
		return err
	}
	var w io.Writer = io.Discard
	switch f.out {
	case "":
	case "-":
		w = inv.Stdout
	default:
		file, err := os.Create(f.out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	tw := trainer.NewWriter(w)
	bar := progress.New(inv.Stderr, f.episodes, "episodes")
	sum, err := trainer.Rollout(ctx, env, pol, trainer.Options{
		Episodes: f.episodes, Seed: f.seed, Tasks: f.tasks, Concurrency: f.concurrency, MaxTurns: f.maxTurns,
		Progress: func(done, _ int) { bar.Set(done) },
	}, tw.Write)
	bar.Finish()
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	spec := env.Spec()
	fmt.Fprintf(inv.Stderr, "%s@%s %s policy: %d episodes, mean reward %.4f, %d faults, %d hit max turns, %.1f episodes/s (concurrency %d)\n",
		spec.Name, spec.Version, pol.Name(), sum.Episodes, sum.MeanReward, sum.Faults, sum.MaxTurns, sum.EpisodesPerSecond(), f.concurrency)
	if sum.Faults > 0 {
		return fmt.Errorf("%d of %d episodes faulted (see termination in the trajectories)", sum.Faults, sum.Episodes)
	}
	return nil
}

func policyFromFlag(name string) (trainer.Policy, error) {
	if file, ok := strings.CutPrefix(name, "replay:"); ok {
		fh, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		recs, err := trainer.ReadAll(fh, file)
		if err != nil {
			return nil, err
		}
		return trainer.ReplayPolicy(recs), nil
	}
	return trainer.Builtin(name)
}
