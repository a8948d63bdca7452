package packs_test

import (
	"context"
	"testing"

	"github.com/terrarium-rl/terrarium/pack"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

// TestBankOracle runs the committed bank pack as `terrarium run --pack`
// does (Resolve, the pack's limits, then a rollout) and checks that its
// reference solution solves every episode and that the pack is named and
// versioned after the environment it holds.
func TestBankOracle(t *testing.T) {
	ctx := context.Background()
	src, m, _, err := pack.Resolve(ctx, "bank.tpack", pack.ResolveOptions{
		OpenOptions: pack.OpenOptions{Cache: &pack.Cache{Dir: t.TempDir()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	host, err := trt.New(ctx, m.Limits.Apply(trt.NewConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(ctx)
	env, err := host.Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if s := env.Spec(); s.Name != m.Name || s.Version != m.Version {
		t.Errorf("the pack is %s@%s but its environment is %s@%s", m.Name, m.Version, s.Name, s.Version)
	}
	const episodes = 6
	var got []*trainer.Trajectory
	sum, err := trainer.Rollout(ctx, env, trainer.OraclePolicy(), trainer.Options{Episodes: episodes, Seed: 1, Concurrency: 2},
		func(tr *trainer.Trajectory) error { got = append(got, tr); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Episodes != episodes || len(got) != episodes || sum.Faults != 0 {
		t.Fatalf("rollout: %d episodes, %d trajectories, %d faults; want %d, %d, 0", sum.Episodes, len(got), sum.Faults, episodes, episodes)
	}
	for _, tr := range got {
		if tr.Reward != 1 {
			t.Errorf("episode %d (task %d): oracle reward %v, want 1", tr.Episode, tr.Task, tr.Reward)
		}
	}
}
