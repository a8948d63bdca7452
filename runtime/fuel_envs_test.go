package runtime_test

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/envs/astra/module"
	"github.com/terrarium-rl/terrarium/internal/astra"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// shippedEnv builds one of the shipped environments into a Source.
type shippedEnv struct {
	name string
	src  func(tb testing.TB) trt.Source
}

func goEnv(dir string) func(tb testing.TB) trt.Source {
	var once sync.Once
	var src trt.Source
	var err error
	return func(tb testing.TB) trt.Source {
		tb.Helper()
		once.Do(func() {
			var p string
			if p, err = gobuild.Build(context.Background(), dir); err == nil {
				src.Name = dir
				src.Wasm, err = os.ReadFile(p)
			}
		})
		if err != nil {
			tb.Fatal(err)
		}
		return src
	}
}

var shippedEnvs = []shippedEnv{
	{"bank", goEnv("../envs/bank")},
	{"hoplookup", goEnv("../envs/hoplookup")},
	{"js-inventory", func(tb testing.TB) trt.Source {
		script, err := os.ReadFile("../envs/js-inventory/env.js")
		if err != nil {
			tb.Fatal(err)
		}
		return jsenv.Source("js-inventory/env.js", script)
	}},
	{"astra", func(tb testing.TB) trt.Source {
		recs, err := os.ReadFile("../internal/astra/testdata/records.jsonl")
		if err != nil {
			tb.Fatal(err)
		}
		res, err := astra.Compile(context.Background(), bytes.NewReader(recs), astra.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		var set bytes.Buffer
		if err := res.WriteTaskSet(&set); err != nil {
			tb.Fatal(err)
		}
		return trt.Source{Name: "astra", Wasm: module.Wasm, Config: set.Bytes()}
	}},
}

// oracleEpisode plays one episode with the env's oracle and returns the
// fuel of its heaviest call.
func oracleEpisode(tb testing.TB, env *trt.Env, seed uint64, task int) (heaviest uint64, reward float64) {
	tb.Helper()
	ctx := context.Background()
	heaviest, err := trt.ResetFuel(ctx, env, seed, task)
	if err != nil {
		tb.Fatalf("task %d: reset: %v", task, err)
	}
	ep, _, err := env.Start(ctx, seed, task)
	if err != nil {
		tb.Fatalf("task %d: start: %v", task, err)
	}
	defer ep.Close(ctx)
	last := trt.FuelUsed(ep)
	note := func() {
		if d := trt.FuelUsed(ep) - last; d > heaviest {
			heaviest = d
		}
		last = trt.FuelUsed(ep)
	}
	for turn := 0; turn < 30 && !ep.Done(); turn++ {
		act, err := ep.Oracle(ctx)
		if err != nil {
			tb.Fatalf("task %d: oracle: %v", task, err)
		}
		note()
		if _, err := ep.Step(ctx, *act); err != nil {
			tb.Fatalf("task %d: step: %v", task, err)
		}
		note()
	}
	s, err := ep.Score(ctx)
	if err != nil {
		tb.Fatalf("task %d: score: %v", task, err)
	}
	note()
	return heaviest, s.Reward
}

// TestDefaultFuelCoversShippedEnvs justifies DefaultFuelPerStep with fuel,
// which unlike time is the same on every machine: the default must cover
// every shipped environment's heaviest episode call 50 times over, and its
// one-time configuration and first reset (made once per Load, before the
// snapshot) 10 times over.
func TestDefaultFuelCoversShippedEnvs(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, trt.NewConfig().WithFuelPerStep(trt.DefaultFuelPerStep))
	for _, se := range shippedEnvs {
		t.Run(se.name, func(t *testing.T) {
			env, err := h.Load(ctx, se.src(t))
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close(ctx)
			if n, err := env.Fuel(); n != trt.DefaultFuelPerStep || err != nil {
				t.Fatalf("Fuel() = %d, %v: not metered", n, err)
			}
			configure, reset, err := trt.ColdFuel(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			var heaviest uint64
			tasks := min(env.Spec().Tasks, 28)
			for task := range tasks {
				f, reward := oracleEpisode(t, env, uint64(task), task)
				if reward < 0.99 {
					t.Errorf("task %d: oracle reward %v", task, reward)
				}
				heaviest = max(heaviest, f)
			}
			t.Logf("%s: heaviest call of %d oracle episodes %d fuel (%.0fx under the default); configure %d, first reset %d",
				se.name, tasks, heaviest, float64(trt.DefaultFuelPerStep)/float64(heaviest), configure, reset)
			if heaviest*50 > trt.DefaultFuelPerStep {
				t.Errorf("heaviest call %d x 50 exceeds DefaultFuelPerStep %d", heaviest, trt.DefaultFuelPerStep)
			}
			// Initialization and configuration run with InitFuelFactor
			// times the budget; the first reset with the budget itself.
			if configure*10 > trt.DefaultFuelPerStep*trt.InitFuelFactor {
				t.Errorf("initialize+configure %d x 10 exceeds their budget %d", configure, trt.DefaultFuelPerStep*trt.InitFuelFactor)
			}
			if reset*10 > trt.DefaultFuelPerStep {
				t.Errorf("first reset %d x 10 exceeds DefaultFuelPerStep %d", reset, trt.DefaultFuelPerStep)
			}
		})
	}
}
