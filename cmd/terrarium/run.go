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
	"github.com/terrarium-rl/terrarium/pack"
	trt "github.com/terrarium-rl/terrarium/runtime"
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
	group       int
	host        hostFlags
	remote      remoteFlags
	backends    backendFlags

	pack      string
	trust     string
	allow     []string
	lock      string
	plainHTTP bool
}

var cmdRun = &Command{
	Name:  "run",
	Usage: "run (--env PATH | --pack REF) [--policy P] [--episodes N] [-o FILE.jsonl] [flags]",
	Short: "run episodes of an environment with a policy and record trajectories",
	Long: `Run plays episodes of an environment with a policy and writes one trajectory
per episode as a JSON line (docs/trajectory.md).

PATH is an environment directory (Go or JavaScript source, or a pack) or a
.wasm module. --pack REF runs a pack instead (a pack directory, a pack file
or an oci:// reference, with an optional #ENV suffix) after verifying every
digest, pinning it in the lockfile (refusing it when its digest differs from
the lock entry), checking its signature against --trust when given, and
checking its declared capabilities against --allow. The pack's limits apply
unless the limit flags override them. Episode i plays task i mod tasks with seed S+i, unless --task
lists the tasks to cycle through. With --group G, episodes come in groups of
G that share one seed and task (group g: seed S+g) and start from one reset
forked into every member, as GRPO samples several completions per prompt. Trajectories are written in episode order
whatever the concurrency, so the same command writes the same bytes.

Policies:
  oracle          the environment's reference solution
  random          random tool calls with arguments drawn from the schemas
  null            an empty final answer at once (should score 0)
  replay:FILE     the actions recorded in a trajectory file
  openai:URL      a model (--model) behind an OpenAI-compatible chat API at URL,
                  such as http://localhost:8000/v1 (vLLM); see docs/policies.md
  plugin:PATH     a policy plugin executable; see docs/plugins.md

--backend NAME=PATH grants the environment the backend NAME (docs/abi.md,
backend_call), served by the plugin executable PATH (docs/plugins.md). The
environment must declare NAME in its spec, and a pack also as the capability
backend:NAME, which the flag grants. Every backend call and answer goes into
the trajectory, so replay needs no backend.

A progress bar is drawn on a terminal; a summary (episodes, mean reward,
faults, episodes/s) is printed to stderr at the end. Exit status 1 when an
episode faulted.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVar(&runFlags.env, "env", "", "environment directory or .wasm module")
		fs.StringVar(&runFlags.pack, "pack", "", "pack to run: directory, pack file or oci://HOST/REPO:TAG[#ENV]")
		fs.StringVar(&runFlags.trust, "trust", "", "public key (NAME.pub) the pack must be signed with")
		fs.StringArrayVar(&runFlags.allow, "allow", nil, "grant a capability the pack declares (repeatable; KIND:* grants a kind)")
		fs.StringVar(&runFlags.lock, "lock", "terrarium.lock", "lockfile pinning packs by digest (\"\" to skip)")
		fs.BoolVar(&runFlags.plainHTTP, "plain-http", false, "allow plain HTTP to non-loopback registries")
		fs.StringVar(&runFlags.policy, "policy", "oracle", "oracle, random, null, replay:FILE, openai:URL or plugin:PATH")
		fs.IntVarP(&runFlags.episodes, "episodes", "n", 10, "number of episodes")
		fs.Uint64Var(&runFlags.seed, "seed", 1, "base seed: episode i runs with seed S+i")
		fs.IntVarP(&runFlags.concurrency, "concurrency", "j", 1, "episodes run at once")
		fs.IntVar(&runFlags.maxTurns, "max-turns", 0, "turn limit per episode (default: the env's, else 32)")
		fs.IntSliceVar(&runFlags.tasks, "task", nil, "tasks to cycle through (default: all, in order)")
		fs.IntVar(&runFlags.group, "group", 1, "episodes per group sharing seed, task and a forked start state (GRPO)")
		fs.StringVarP(&runFlags.out, "output", "o", "", "trajectory file to write (- for stdout)")
		runFlags.host.register(fs)
		runFlags.remote.register(fs)
		runFlags.backends.register(fs)
	},
	Run: runRun,
}

func runRun(ctx context.Context, inv *Invocation) error {
	f := &runFlags
	if len(inv.Args) > 0 {
		return usagef("unexpected argument %q", inv.Args[0])
	}
	if (f.env == "") == (f.pack == "") {
		return usagef("give one of --env or --pack")
	}
	if f.episodes < 1 || f.concurrency < 1 || f.group < 1 || f.maxTurns < 0 {
		return usagef("--episodes, --concurrency and --group must be at least 1, --max-turns not negative")
	}
	if _, err := f.backends.grants(); err != nil {
		return usagef("%s", err)
	}
	pol, err := policyFromFlag(ctx, f.policy, inv.Stderr)
	if err != nil {
		return usagef("%s", err)
	}
	if c, ok := pol.(io.Closer); ok {
		defer c.Close() // stops a plugin
	}
	cfg := f.host.config()
	var src trt.Source
	var man *pack.Manifest // nil unless run from a pack
	if f.pack != "" {
		s, m, digest, err := pack.Resolve(ctx, f.pack, pack.ResolveOptions{
			OpenOptions: pack.OpenOptions{PlainHTTP: f.plainHTTP},
			Lockfile:    f.lock, TrustKey: f.trust, Allow: f.backends.allow(f.allow),
		})
		if err != nil {
			return err
		}
		man = m
		cfg = f.host.over(m.Limits.Apply(trt.NewConfig()), inv.Flags)
		s.Name = f.pack
		src = s
		fmt.Fprintf(inv.Stderr, "pack %s@%s sha256:%s\n", m.Name, m.Version, strings.TrimPrefix(digest, "sha256:"))
	} else {
		s, err := envload.Resolve(ctx, f.env)
		if err != nil {
			return err
		}
		src = s
	}
	host, err := trt.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer host.Close(ctx)
	env, err := host.Load(ctx, src)
	if err != nil {
		return err
	}
	start, stopBackends, err := f.backends.start(ctx, env, man, inv.Stderr)
	if err != nil {
		return err
	}
	defer stopBackends()
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
		Episodes: f.episodes, Seed: f.seed, Tasks: f.tasks, Concurrency: f.concurrency, MaxTurns: f.maxTurns, GroupSize: f.group,
		Progress: func(done, _ int) { bar.Set(done) }, Start: start,
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
	if st := env.Stats(); st.Instantiated > 1+st.Recycled/10 {
		// Episodes that grow guest memory cannot recycle their instance
		// (RATIONALE.md); say so, since it makes starts much slower.
		fmt.Fprintf(inv.Stderr, "note: %d of %d episodes needed a fresh instance (guest memory grew past the snapshot)\n",
			st.Instantiated-1, sum.Episodes)
	}
	if sum.Faults > 0 {
		return fmt.Errorf("%d of %d episodes faulted (see termination in the trajectories)", sum.Faults, sum.Episodes)
	}
	return nil
}

func policyFromFlag(ctx context.Context, name string, log io.Writer) (trainer.Policy, error) {
	if url, ok := strings.CutPrefix(name, "openai:"); ok {
		return runFlags.remote.openaiPolicy(url, runFlags.concurrency)
	}
	if path, ok := strings.CutPrefix(name, "plugin:"); ok {
		return runFlags.remote.pluginPolicy(ctx, path, log)
	}
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
