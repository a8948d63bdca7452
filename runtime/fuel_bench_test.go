package runtime_test

// BenchmarkFuel measures what metering costs, side by side with the
// unmetered baseline, on the echo test env and the shipped bank env:
//
//	go test ./runtime -run '^$' -bench Fuel -count 8
//
// step/<env>: one tool call round trip (echo: say; bank: two reads).
// episode/<env>: start, the oracle's actions to the end, score, close.
// Each runs with fuel off, with fuel on (DefaultFuelPerStep), and with fuel
// on and wazero's context check off (WithCloseOnContextDone(false)): once
// fuel bounds a guest, that check is what a step timeout costs. off-nocheck
// (neither) is the unguarded floor, for reference. Metered runs also report
// fuel/op, which depends on b.N (the echo env's replies grow over an
// episode) but never on the machine.
//
// exhaust/echo: the echo env's endless loop tool, stopped by the default
// budget: what a runaway step costs before it ends.

import (
	"context"
	"errors"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

func BenchmarkFuel(b *testing.B) {
	ctx := context.Background()
	modes := []struct {
		name string
		cfg  trt.Config
	}{
		{"off", trt.NewConfig()},
		{"on", trt.NewConfig().WithFuelPerStep(trt.DefaultFuelPerStep)},
		{"on-nocheck", trt.WithCloseOnContextDone(trt.NewConfig().WithFuelPerStep(trt.DefaultFuelPerStep), false)},
		// Unbounded: a runaway guest would never stop. For reference only.
		{"off-nocheck", trt.WithCloseOnContextDone(trt.NewConfig(), false)},
	}
	envs := []struct {
		name string
		src  func(testing.TB) trt.Source
		step func(testing.TB, *trt.Episode) abi.Message // the benchmarked action
	}{
		{"echo", func(tb testing.TB) trt.Source { return trt.Source{Name: "echo.wasm", Wasm: echoWasm(tb)} },
			func(testing.TB, *trt.Episode) abi.Message { return call("c", "say", `{"text":"hello"}`) }},
		{"bank", shippedEnvs[0].src, func(tb testing.TB, ep *trt.Episode) abi.Message {
			act, err := ep.Oracle(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			act.ToolCalls = act.ToolCalls[:2] // two reads, repeatable
			return *act
		}},
	}
	load := func(b *testing.B, cfg trt.Config, src trt.Source) *trt.Env {
		env, err := newHost(b, cfg).Load(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		return env
	}
	b.Run("exhaust/echo", func(b *testing.B) {
		for _, m := range modes[1:3] {
			b.Run(m.name, func(b *testing.B) {
				env := load(b, m.cfg, envs[0].src(b))
				for b.Loop() {
					ep, _, err := env.Start(ctx, 1, 0)
					if err != nil {
						b.Fatal(err)
					}
					_, err = ep.Step(ctx, call("c", "loop", "{}"))
					if f := (*trt.Fault)(nil); !errors.As(err, &f) || f.Kind != trt.FaultBudget {
						b.Fatalf("loop: %v, want a budget fault", err)
					}
					ep.Close(ctx)
				}
			})
		}
	})
	for _, e := range envs {
		b.Run("step/"+e.name, func(b *testing.B) {
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) {
					env := load(b, m.cfg, e.src(b))
					var ep *trt.Episode
					var act abi.Message
					start := func() {
						var err error
						if ep, _, err = env.Start(ctx, 1, 0); err != nil {
							b.Fatal(err)
						}
						act = e.step(b, ep)
					}
					start()
					fuel := -trt.FuelUsed(ep) // what the episode used before the loop; wraps back below
					for i := 0; b.Loop(); i++ {
						if i%1000 == 999 { // bound the episode's state
							b.StopTimer()
							fuel += trt.FuelUsed(ep)
							ep.Close(ctx)
							start()
							fuel -= trt.FuelUsed(ep)
							b.StartTimer()
						}
						if _, err := ep.Step(ctx, act); err != nil {
							b.Fatal(err)
						}
					}
					fuel += trt.FuelUsed(ep)
					ep.Close(ctx)
					if fuel > 0 {
						b.ReportMetric(float64(fuel)/float64(b.N), "fuel/op")
					}
				})
			}
		})
		b.Run("episode/"+e.name, func(b *testing.B) {
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) {
					env := load(b, m.cfg, e.src(b))
					for i := 0; b.Loop(); i++ {
						task := i % env.Spec().Tasks
						ep, _, err := env.Start(ctx, uint64(i), task)
						if err != nil {
							b.Fatal(err)
						}
						for turn := 0; turn < 30 && !ep.Done(); turn++ {
							act, err := ep.Oracle(ctx)
							if err != nil {
								b.Fatal(err)
							}
							if _, err := ep.Step(ctx, *act); err != nil {
								b.Fatal(err)
							}
						}
						if s, err := ep.Score(ctx); err != nil || s.Reward != 1 {
							b.Fatalf("score %v, %v; want reward 1", s, err)
						}
						ep.Close(ctx)
					}
				})
			}
		})
	}
}
