package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/internal/envload"
	"github.com/terrarium-rl/terrarium/internal/progress"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

var replayFlags struct {
	env  string
	host hostFlags
}

var cmdReplay = &Command{
	Name:  "replay",
	Usage: "replay FILE.jsonl [--env PATH]",
	Short: "re-execute recorded trajectories and check them byte for byte",
	Long: `Replay re-executes every episode of a trajectory file: it resets the same
module with the recorded seed and task, sends the recorded actions, and
checks every observation, the termination, the score and the record's digest
byte for byte. On the first divergence it names the episode, the turn and
the first differing bytes, and exits 1.

The module is the one named in the records (env.source) unless --env gives
another path; its SHA-256 must match the recorded one. Each episode replays
under the compute budget it recorded (fuel_per_step) unless --fuel is given.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVar(&replayFlags.env, "env", "", "environment to replay against (default: the recorded source)")
		replayFlags.host.register(fs)
	},
	Run: runReplay,
}

func runReplay(ctx context.Context, inv *Invocation) error {
	if len(inv.Args) != 1 {
		return usagef("want one trajectory file")
	}
	file := inv.Args[0]
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	recs, err := trainer.ReadAll(fh, file)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("%s: no trajectories", file)
	}
	// Each record is replayed under the compute budget it ran under, unless
	// --fuel says otherwise: one host per budget.
	hosts := map[uint64]*trt.Host{}
	defer func() {
		for _, h := range hosts {
			h.Close(ctx)
		}
	}()
	envs := map[string]*trt.Env{}
	bar := progress.New(inv.Stderr, len(recs), "replay")
	defer bar.Finish()
	for i, rec := range recs {
		src := replayFlags.env
		if src == "" {
			src = rec.Env.Source
		}
		if src == "" {
			return fmt.Errorf("%s: episode %d records no env source; pass --env", file, rec.Episode)
		}
		fuel := rec.FuelPerStep
		if inv.Flags.Changed("fuel") {
			fuel = replayFlags.host.fuel
		}
		host := hosts[fuel]
		if host == nil {
			if host, err = trt.New(ctx, replayFlags.host.config().WithFuelPerStep(fuel)); err != nil {
				return err
			}
			hosts[fuel] = host
		}
		key := fmt.Sprintf("%d\x00%s", fuel, src)
		env := envs[key]
		if env == nil {
			if env, err = envload.Load(ctx, host, src); err != nil {
				return err
			}
			envs[key] = env
		}
		if err := trainer.Replay(ctx, env, rec); err != nil {
			var d *trainer.Divergence
			if errors.As(err, &d) {
				bar.Finish()
				fmt.Fprintf(inv.Stderr, "%s: %s\n", file, d)
				return silentError{}
			}
			return fmt.Errorf("%s: episode %d: %w", file, rec.Episode, err)
		}
		bar.Set(i + 1)
	}
	bar.Finish()
	fmt.Fprintf(inv.Stderr, "%s: %d episodes replayed identically\n", file, len(recs))
	return nil
}
