package trainer_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

// Rollout plays episodes with a policy and hands each trajectory to a
// callback in episode order; Replay re-executes one and checks every byte.
func ExampleRollout() {
	ctx := context.Background()
	wasm, err := gobuild.Build(ctx, "../envs/bank")
	if err != nil {
		log.Fatal(err)
	}
	host, err := trt.New(ctx, trt.NewConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close(ctx)
	env, err := host.LoadFile(ctx, wasm)
	if err != nil {
		log.Fatal(err)
	}
	w := trainer.NewWriter(io.Discard) // usually a trajectory file: one JSON line per episode
	var first *trainer.Trajectory
	sum, err := trainer.Rollout(ctx, env, trainer.OraclePolicy(),
		trainer.Options{Episodes: 8, Seed: 42, Concurrency: 2},
		func(t *trainer.Trajectory) error {
			if first == nil {
				first = t
			}
			return w.Write(t)
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d episodes, mean reward %.2f, %d faults\n", sum.Episodes, sum.MeanReward, sum.Faults)
	fmt.Println("replay:", trainer.Replay(ctx, env, first))
	// Output:
	// 8 episodes, mean reward 1.00, 0 faults
	// replay: <nil>
}
