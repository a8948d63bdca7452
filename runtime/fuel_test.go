package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/wasmbin"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// fuelConfig meters guests with a budget that healthy echo calls stay far
// below, and a step timeout far above what exhausting it takes: a budget
// fault must come from fuel, never from the clock.
func fuelConfig(budget uint64) trt.Config {
	return trt.NewConfig().WithFuelPerStep(budget).WithStepTimeout(5 * time.Minute)
}

// fuelBudget is the echo tests' budget: 20x echo's heaviest call (its
// first reset, which compiles the tools' schemas).
const fuelBudget = 150_000_000

// fuelRun is what a fixed sequence of calls did: every reply or error, and
// the fuel each call used.
type fuelRun struct {
	replies []string
	fuel    []uint64
}

// playFuel starts an episode and makes the given tool calls, then scores,
// recording replies and fuel. It stops at the first error.
func playFuel(t *testing.T, env *trt.Env, seed uint64, calls ...[2]string) fuelRun {
	t.Helper()
	ctx := context.Background()
	var run fuelRun
	record := func(ep *trt.Episode, before uint64, v any, err error) bool {
		if err != nil {
			var f *trt.Fault
			if errors.As(err, &f) {
				// The output is part of the outcome too.
				run.replies = append(run.replies, fmt.Sprintf("fault %s in %s: %s | %q", f.Kind, f.Op, f.Reason, f.Output))
			} else {
				run.replies = append(run.replies, "error "+err.Error())
			}
		} else {
			b, _ := json.Marshal(v)
			run.replies = append(run.replies, string(b))
		}
		run.fuel = append(run.fuel, trt.FuelUsed(ep)-before)
		return err == nil
	}
	ep, obs, err := env.Start(ctx, seed, 1)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer ep.Close(ctx)
	run.replies = append(run.replies, fmt.Sprint(obs.Messages))
	for _, c := range calls {
		before := trt.FuelUsed(ep)
		res, err := ep.Step(ctx, call("c", c[0], c[1]))
		if !record(ep, before, res, err) {
			return run
		}
	}
	before := trt.FuelUsed(ep)
	s, err := ep.Score(ctx)
	record(ep, before, s, err)
	return run
}

var healthyCalls = [][2]string{
	{"say", `{"text":"hello"}`},
	{"entropy", "{}"},
	{"sleep", `{"duration":"1h"}`},
	{"say", `{"text":"again"}`},
}

// TestFuelBudgetFault makes a guest loop forever: the step must end with a
// budget fault (not a timeout), with the same outcome and fuel on every
// host and for every instance, fresh or recycled.
func TestFuelBudgetFault(t *testing.T) {
	calls := append(healthyCalls[:1:1], [2]string{"loop", "{}"})
	var first *fuelRun
	for _, tc := range []struct {
		name string
		cfg  trt.Config
	}{
		{"reuse", fuelConfig(fuelBudget)},
		{"reuse again", fuelConfig(fuelBudget)},
		{"instantiate", fuelConfig(fuelBudget).WithInstanceReuse(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := loadEcho(t, newHost(t, tc.cfg))
			if n, err := env.Fuel(); n != fuelBudget || err != nil {
				t.Fatalf("Fuel() = %d, %v; want %d, nil", n, err, fuelBudget)
			}
			for round := range 2 { // the second round runs on a recycled instance
				run := playFuel(t, env, 3, calls...)
				want := fmt.Sprintf("fault budget in step: compute budget of %d exhausted", fuelBudget)
				if len(run.replies) != 3 || !strings.HasPrefix(run.replies[2], want) {
					t.Fatalf("round %d: replies %q, want the loop to end with %q", round, run.replies, want)
				}
				if used := run.fuel[1]; used < fuelBudget {
					t.Errorf("the loop step used %d fuel, want at least the budget %d", used, fuelBudget)
				}
				if first == nil {
					first = &run
					continue
				}
				if fmt.Sprint(run) != fmt.Sprint(*first) {
					t.Errorf("round %d: %v\nfirst run: %v", round, run, *first)
				}
			}
		})
	}
}

// TestFuelDeterministic plays the same healthy episodes on two hosts, 500
// episodes each: one recycling instances, one instantiating afresh and
// compiled without wazero's context check. Every reply and every call's
// fuel must be the same, and fuel must not change what the guest does.
func TestFuelDeterministic(t *testing.T) {
	a := loadEcho(t, newHost(t, fuelConfig(fuelBudget)))
	b := loadEcho(t, newHost(t, trt.WithCloseOnContextDone(fuelConfig(fuelBudget).WithInstanceReuse(false), false)))
	off := loadEcho(t, newHost(t, trt.NewConfig().WithFuelPerStep(0)))
	for seed := range uint64(500) {
		ra, rb := playFuel(t, a, seed, healthyCalls...), playFuel(t, b, seed, healthyCalls...)
		if fmt.Sprint(ra) != fmt.Sprint(rb) {
			t.Fatalf("seed %d: hosts differ:\n%v\n%v", seed, ra, rb)
		}
		for i, f := range ra.fuel {
			if f == 0 {
				t.Fatalf("seed %d: call %d used no fuel", seed, i)
			}
		}
		if seed >= 3 {
			continue
		}
		roff := playFuel(t, off, seed, healthyCalls...)
		if fmt.Sprint(ra.replies) != fmt.Sprint(roff.replies) {
			t.Errorf("seed %d: metered replies %q, unmetered %q", seed, ra.replies, roff.replies)
		}
		for _, f := range roff.fuel {
			if f != 0 {
				t.Errorf("seed %d: unmetered calls counted fuel %v", seed, roff.fuel)
				break
			}
		}
		t.Logf("seed %d: fuel per call %v", seed, ra.fuel)
	}
}

// TestFuelFork: a fork and its parent, given the same actions, use the same
// fuel and reply the same as a fresh episode replayed to the fork point.
func TestFuelFork(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, fuelConfig(fuelBudget)))
	start := func() *trt.Episode {
		ep, _, err := env.Start(ctx, 5, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close(ctx) })
		return ep
	}
	step := func(ep *trt.Episode, c [2]string) string {
		before := trt.FuelUsed(ep)
		res, err := ep.Step(ctx, call("c", c[0], c[1]))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return fmt.Sprintf("%s fuel %d", b, trt.FuelUsed(ep)-before)
	}
	parent, fresh := start(), start()
	step(parent, healthyCalls[0])
	step(fresh, healthyCalls[0])
	fork, err := parent.Fork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer fork.Close(ctx)
	for _, c := range healthyCalls[1:] {
		want := step(fresh, c)
		if got := step(parent, c); got != want {
			t.Errorf("parent: %s\nfresh:  %s", got, want)
		}
		if got := step(fork, c); got != want {
			t.Errorf("fork:  %s\nfresh: %s", got, want)
		}
	}
}

func TestFuelOnByDefault(t *testing.T) {
	env := loadEcho(t, newHost(t, trt.NewConfig()))
	if n, err := env.Fuel(); n != trt.DefaultFuelPerStep || err != nil {
		t.Errorf("Fuel() = %d, %v; want %d, nil", n, err, uint64(trt.DefaultFuelPerStep))
	}
	off := loadEcho(t, newHost(t, trt.NewConfig().WithFuelPerStep(0)))
	if n, err := off.Fuel(); n != 0 || err != nil {
		t.Errorf("with fuel off, Fuel() = %d, %v; want 0, nil", n, err)
	}
}

// TestFuelUnreadableModule: with fuel on, a module the instrumentation
// refuses is refused at load (nothing else would bound it); when the host
// also checks the context, it runs unmetered and Env.Fuel says why; with
// fuel off it runs, bounded by the step timeout.
func TestFuelUnreadableModule(t *testing.T) {
	src, err := os.ReadFile("testdata/wat/guess.wat")
	if err != nil {
		t.Fatal(err)
	}
	// A module that already exports the fuel global's name cannot be
	// instrumented again.
	wat := strings.Replace(string(src), `(memory (export "memory") 2)`,
		`(memory (export "memory") 2) (global (export "terrarium.fuel") (mut i64) (i64.const 0))`, 1)
	wasm := trt.Wat2Wasm(t, wat)
	if _, err := newHost(t, fuelConfig(1000)).Load(context.Background(), trt.Source{Name: "guess.wasm", Wasm: wasm}); !errors.Is(err, trt.ErrInvalidModule) || !strings.Contains(err.Error(), "run it with fuel off") {
		t.Fatalf("load with fuel on: %v, want a refusal suggesting fuel off", err)
	}
	if _, err := newHost(t, trt.NewConfig().WithFuelPerStep(0)).Load(context.Background(), trt.Source{Name: "guess.wasm", Wasm: wasm}); err != nil {
		t.Fatalf("load with fuel off: %v", err)
	}
	h := newHost(t, trt.WithCloseOnContextDone(fuelConfig(1000), true))
	env, err := h.Load(context.Background(), trt.Source{Name: "guess.wasm", Wasm: wasm})
	if err != nil {
		t.Fatal(err)
	}
	n, err := env.Fuel()
	if n != 0 || !errors.Is(err, wasmbin.ErrMalformed) || !strings.HasPrefix(err.Error(), "fuel guess.wasm: ") {
		t.Fatalf("Fuel() = %d, %v; want 0 and a located ErrMalformed", n, err)
	}
	ctx := context.Background()
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	if _, err := ep.Step(ctx, abi.Message{Role: abi.RoleAssistant, Content: "50"}); err != nil {
		t.Fatalf("unmetered step: %v", err)
	}
}
