package main

// Sandboxed counterparts of BenchmarkNativeEpisode and BenchmarkNativeStep:
// the same env logic run as WebAssembly through the runtime, so one
// `go test -bench . ./envs/bank` reports the native floor and the sandbox
// side by side.

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

var wasmBank struct {
	once sync.Once
	wasm []byte
	err  error
}

func loadWasm(b *testing.B, cfg trt.Config) *trt.Env {
	b.Helper()
	wasmBank.once.Do(func() {
		p, err := gobuild.Build(context.Background(), ".")
		if err == nil {
			wasmBank.wasm, err = os.ReadFile(p)
		}
		wasmBank.err = err
	})
	if wasmBank.err != nil {
		b.Fatal(wasmBank.err)
	}
	ctx := context.Background()
	h, err := trt.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(ctx) })
	env, err := h.Load(ctx, trt.Source{Name: "bank.wasm", Wasm: wasmBank.wasm})
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// BenchmarkSandboxEpisode plays a full oracle episode (start, 3 turns,
// score) in the sandbox; compare with BenchmarkNativeEpisode.
func BenchmarkSandboxEpisode(b *testing.B) {
	for _, mode := range []struct {
		name  string
		reuse bool
	}{{"snapshot", true}, {"instantiate", false}} {
		b.Run(mode.name, func(b *testing.B) {
			env := loadWasm(b, trt.NewConfig().WithInstanceReuse(mode.reuse))
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				t := trainer.RunEpisode(ctx, env, trainer.OraclePolicy(), i, uint64(i), i%1000, 12)
				if t.Reward != 1 {
					b.Fatalf("reward %v: %+v", t.Reward, t.Termination)
				}
			}
		})
	}
}

// BenchmarkSandboxStep measures one step with two read calls in the
// sandbox; compare with BenchmarkNativeStep.
func BenchmarkSandboxStep(b *testing.B) {
	env := loadWasm(b, trt.NewConfig())
	ctx := context.Background()
	start := func() (*trt.Episode, abi.Message) {
		ep, _, err := env.Start(ctx, 1, 0)
		if err != nil {
			b.Fatal(err)
		}
		act, err := ep.Oracle(ctx)
		if err != nil {
			b.Fatal(err)
		}
		act.ToolCalls = act.ToolCalls[:2]
		return ep, *act
	}
	ep, act := start()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 999 {
			b.StopTimer()
			ep.Close(ctx)
			ep, act = start()
			b.StartTimer()
		}
		if _, err := ep.Step(ctx, act); err != nil {
			b.Fatal(err)
		}
	}
	ep.Close(ctx)
}

// BenchmarkRollout measures oracle episodes/s through trainer.Rollout at
// concurrency 1 and 2 (reported as episodes/s).
func BenchmarkRollout(b *testing.B) {
	env := loadWasm(b, trt.NewConfig())
	for _, conc := range []int{1, 2} {
		b.Run(map[int]string{1: "concurrency=1", 2: "concurrency=2"}[conc], func(b *testing.B) {
			const n = 64
			var total float64
			for b.Loop() {
				sum, err := trainer.Rollout(context.Background(), env, trainer.OraclePolicy(),
					trainer.Options{Episodes: n, Concurrency: conc}, func(*trainer.Trajectory) error { return nil })
				if err != nil || sum.MeanReward != 1 {
					b.Fatalf("rollout: %v, mean reward %v", err, sum.MeanReward)
				}
				total += float64(n)
			}
			b.ReportMetric(total/b.Elapsed().Seconds(), "episodes/s")
		})
	}
}
