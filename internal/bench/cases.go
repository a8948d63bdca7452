package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/testenv"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/sdk"
)

func toolCall(name, args string) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
		Function: abi.FunctionCall{Name: name, Arguments: args}}}}
}

var sayHello = toolCall("say", `{"text":"hello"}`)

// restartEvery is how many steps a step figure takes in one episode before
// it starts another (between samples), so that what an env accumulates per
// step (echo keeps everything said) stays bounded.
const restartEvery = 500

// fullReward is the least reward an oracle episode must score: ASTRA's F1
// adds an epsilon to its denominator (task.Epsilon), so a perfect episode
// scores a hair under 1.
const fullReward = 1 - 1e-6

// maxEpisodeTurns bounds the oracle episodes; every benchmarked oracle
// finishes in far fewer turns.
const maxEpisodeTurns = 20

// stepper takes one step of an episode, however it is run.
type stepper func(context.Context, abi.Message) (*abi.StepResult, error)

// firstAction chooses, once per episode, the action a step figure repeats;
// it may take steps to find it.
type firstAction func(context.Context, stepper) (abi.Message, error)

// oneTool checks that a step answered one tool call without a tool error.
func oneTool(res *abi.StepResult) error {
	if len(res.Messages) != 1 {
		return fmt.Errorf("step returned %d messages, want 1", len(res.Messages))
	}
	if c := res.Messages[0].Content; strings.HasPrefix(c, `{"error"`) {
		return fmt.Errorf("tool error: %s", c)
	}
	return nil
}

// timedCases lists the latency figures in report order.
func (r *runner) timedCases() []*timed {
	var seed uint64
	next := func() uint64 { seed++; return seed }
	start := func(env *trt.Env) func(context.Context) error {
		tasks := env.Spec().Tasks
		return func(ctx context.Context) error {
			s := next()
			ep, _, err := env.Start(ctx, s, int(s%uint64(tasks)))
			if err != nil {
				return err
			}
			return ep.Close(ctx)
		}
	}
	cases := []*timed{
		{Result: Result{Name: "instantiate/go", Note: "Env.Start and Close of the echo env (runtime/testdata/echo, logic in internal/testenv, Go SDK) with a fresh instance (Config.WithInstanceReuse(false))"},
			op: start(r.freshEnvs["go"])},
		{Result: Result{Name: "instantiate/js", Note: "the same for js-inventory: instantiate the JavaScript runner, load the script, reset"},
			op: start(r.freshEnvs["js"])},
		{Result: Result{Name: "start/go", Baseline: "instantiate/go", Note: "Env.Start and Close with a recycled instance: the env's terrarium_reset, then the restore to the snapshot"},
			op: start(r.envs["go"])},
		{Result: Result{Name: "start/js", Baseline: "instantiate/js", Note: "the same for js-inventory"},
			op: start(r.envs["js"])},
		{Result: Result{Name: "start/wat", Note: "the same for guess.wat, whose reset does almost nothing: what a recycled start costs beyond the env's own work"},
			op: start(r.envs["wat"])},
		r.resetCase(Result{Name: "reset/go", Baseline: "instantiate/go", Note: "restoring an instance to the snapshot after an episode (Start, one say step, Close), as Env.Stats times it: the runtime's reset, apart from the env's own terrarium_reset work"},
			r.envs["go"], sayStart),
		r.resetCase(Result{Name: "reset/js", Baseline: "instantiate/js", Note: "the same for js-inventory (its first tool call)"}, r.envs["js"], inventoryStart),
		r.resetCase(Result{Name: "reset/wat", Note: "the same for guess.wat"}, r.envs["wat"], guessStart),
		r.forkCase(Result{Name: "fork/go", Baseline: "start/go", Note: "Episode.Fork of a live episode and Close of the copy"}, r.envs["go"], sayStart),
		r.forkCase(Result{Name: "fork/js", Baseline: "start/js", Note: "the same for js-inventory"}, r.envs["js"], inventoryStart),

		r.nativeStep(),
		r.stepCase(Result{Name: "step/go", Baseline: "step/native", Note: "the same say call to the echo env in the sandbox"}, r.envs["go"], sayStart),
		r.stepCase(Result{Name: "step/js-echo", Baseline: "step/native", Note: "the same say call to echo.js, the echo env in JavaScript"}, r.envs["js-echo"], sayStart),
		r.stepCase(Result{Name: "step/js", Baseline: "step/native", Note: "a get_item call to js-inventory (not the floor's logic: compare with step/js-echo)"}, r.envs["js"], inventoryStart),
		r.stepCase(Result{Name: "step/wat", Note: "a guess call to runtime/testdata/wat/guess.wat, which does almost no work: the host-guest round trip of a step"}, r.envs["wat"], guessStart),
	}
	if r.opts.Fuel {
		off := func(name string) Result {
			return Result{Name: name + "-nofuel", Baseline: name, Note: name + " with fuel off (Config.WithFuelPerStep(0)): wazero then checks the context in guest code so that the step timeout can stop it"}
		}
		cases = append(cases,
			r.stepCase(off("step/go"), r.nofuelEnvs["go"], sayStart),
			r.stepCase(off("step/js"), r.nofuelEnvs["js"], inventoryStart),
			r.stepCase(off("step/wat"), r.nofuelEnvs["wat"], guessStart))
	}
	a := r.astra
	astraCall, checkAstra := r.astraAction()
	cases = append(cases,
		&timed{Result: Result{Name: "call/python-subprocess", Note: "python3 -c running task " + a.uuid + "'s tool code and printing its call, as ASTRA runs a tool call"},
			op: func(ctx context.Context) error {
				out, err := exec.CommandContext(ctx, r.py, "-c", a.script).Output()
				if err != nil {
					return fmt.Errorf("python3: %w", err)
				}
				if got := strings.TrimSuffix(string(out), "\n"); got != a.want {
					return fmt.Errorf("python3 printed %q, want %q", got, a.want)
				}
				return nil
			}},
		r.stepCase(Result{Name: "call/astra", Baseline: "call/python-subprocess", Note: "the same call as a step of a live episode of the imported task (envs/astra runner)"},
			r.envs["astra"], astraCall, checkAstra),
		r.stepCase(Result{Name: "call/astra-rewritten", Baseline: "call/python-subprocess", Note: "call/astra with the arguments' keys in another order and spaced out: the runner canonicalizes them (call/astra's exact bytes match without)"},
			r.envs["astra"], func(context.Context, stepper) (abi.Message, error) { return a.rewritten, nil }, checkAstra),
		r.stepCase(Result{Name: "call/astra-js", Baseline: "call/python-subprocess", Note: "the same call to the task imported as JavaScript (import astra --kind js, run by the JavaScript runner)"},
			r.envs["astra-js"], astraCall, checkAstra),
		&timed{Result: Result{Name: "call/astra-fresh", Baseline: "call/python-subprocess", Note: "a new episode per call (Start, Step, Close): the isolation of a process per call"},
			op: func(ctx context.Context) error {
				ep, _, err := r.envs["astra"].Start(ctx, next(), a.task)
				if err != nil {
					return err
				}
				defer ep.Close(ctx)
				res, err := ep.Step(ctx, a.action)
				if err != nil {
					return err
				}
				return checkAstra(res)
			}},
	)
	if r.opts.Fuel {
		cases = append(cases, r.stepCase(Result{Name: "call/astra-nofuel", Baseline: "call/astra", Note: "call/astra with fuel off (and so wazero's context check on)"},
			r.nofuelEnvs["astra"], astraCall, checkAstra))
	}
	native := sdk.NewNative(testenv.New)
	cases = append(cases,
		&timed{Result: Result{Name: "episode/native", Note: "an oracle episode of echo (reset, say, answer, score) run natively"},
			op: func(context.Context) error { return playNative(native, next(), 0) }},
		&timed{Result: Result{Name: "episode/go", Baseline: "episode/native", Note: "the same episode in the sandbox, with Start and Close"},
			op: func(ctx context.Context) error { return playSandbox(ctx, r.envs["go"], next(), 0) }},
		&timed{Result: Result{Name: "episode/js", Note: "an oracle episode of js-inventory task 1 (restock, ship, answer)"},
			op: func(ctx context.Context) error { return playSandbox(ctx, r.envs["js"], next(), 1) }},
		&timed{Result: Result{Name: "episode/astra", Baseline: "call/python-subprocess", Note: "an oracle episode of the imported task (its verified calls, the final answer, the score): what python3 does for one call"},
			op: func(ctx context.Context) error { return playSandbox(ctx, r.envs["astra"], next(), a.task) }},
		&timed{Result: Result{Name: "episode/astra-js", Baseline: "call/python-subprocess", Note: "the same oracle episode of the task imported as JavaScript"},
			op: func(ctx context.Context) error { return playSandbox(ctx, r.envs["astra-js"], next(), a.task) }},
	)
	return cases
}

// astraAction returns the benchmarked ASTRA call and its check: the
// recorded output, exactly.
func (r *runner) astraAction() (firstAction, func(*abi.StepResult) error) {
	a := r.astra
	return func(context.Context, stepper) (abi.Message, error) { return a.action, nil },
		func(res *abi.StepResult) error {
			if len(res.Messages) != 1 || res.Messages[0].Content != a.want {
				return fmt.Errorf("tool result %+v, want the recorded %q", res.Messages, a.want)
			}
			return nil
		}
}

// sayStart is the step action of the echo envs.
func sayStart(context.Context, stepper) (abi.Message, error) { return sayHello, nil }

// guessStart is the step action of guess.wat.
func guessStart(context.Context, stepper) (abi.Message, error) {
	return toolCall("guess", `{"n":50}`), nil
}

// inventoryStart looks an item up with search_items and returns a
// get_item call for it.
func inventoryStart(ctx context.Context, step stepper) (abi.Message, error) {
	res, err := step(ctx, toolCall("search_items", `{"query":"widget"}`))
	if err != nil {
		return abi.Message{}, err
	}
	if err := oneTool(res); err != nil {
		return abi.Message{}, err
	}
	var items []struct{ SKU string }
	if err := json.Unmarshal([]byte(res.Messages[0].Content), &items); err != nil || len(items) == 0 {
		return abi.Message{}, fmt.Errorf("search_items answered %q", res.Messages[0].Content)
	}
	args, _ := json.Marshal(map[string]string{"sku": items[0].SKU})
	return toolCall("get_item", string(args)), nil
}

// stepCase times one step of a live episode of env (task 0), whose action
// first chooses once per episode. check, when given, replaces oneTool.
func (r *runner) stepCase(res Result, env *trt.Env, first firstAction, check ...func(*abi.StepResult) error) *timed {
	var (
		ep    *trt.Episode
		act   abi.Message
		steps int
		seed  uint64
	)
	verify := oneTool
	if len(check) > 0 {
		verify = check[0]
	}
	r.onClose(func(ctx context.Context) {
		if ep != nil {
			ep.Close(ctx)
		}
	})
	return &timed{Result: res,
		between: func(ctx context.Context) error {
			if ep != nil && steps < restartEvery {
				return nil
			}
			if ep != nil {
				ep.Close(ctx)
				ep = nil
			}
			seed++
			e, _, err := env.Start(ctx, seed, 0)
			if err != nil {
				return err
			}
			ep, steps = e, 0
			act, err = first(ctx, ep.Step)
			return err
		},
		op: func(ctx context.Context) error {
			steps++
			res, err := ep.Step(ctx, act)
			if err != nil {
				return err
			}
			return verify(res)
		},
	}
}

// nativeStep is the floor: the echo env's say call through sdk.Native,
// which encodes the action and decodes the reply as the host does.
func (r *runner) nativeStep() *timed {
	n := sdk.NewNative(testenv.New)
	steps := -1
	var seed uint64
	return &timed{Result: Result{Name: "step/native", Note: "the say call of the echo env (runtime/testdata/echo, logic in internal/testenv, Go SDK) run natively with sdk.NewNative: the floor"},
		between: func(context.Context) error {
			if steps >= 0 && steps < restartEvery {
				return nil
			}
			seed++
			_, err := n.Reset(seed, 0)
			steps = 0
			return err
		},
		op: func(context.Context) error {
			steps++
			res, err := n.Step(sayHello)
			if err != nil {
				return err
			}
			return oneTool(&res)
		},
	}
}

// resetCase times restoring an instance to the snapshot after a short
// episode (started, one step taken, closed), from the restore time the env
// itself records (Env.Stats).
func (r *runner) resetCase(res Result, env *trt.Env, first firstAction) *timed {
	var seed uint64
	tasks := env.Spec().Tasks
	return &timed{Result: res,
		op: func(ctx context.Context) error {
			seed++
			ep, _, err := env.Start(ctx, seed, int(seed%uint64(tasks)))
			if err != nil {
				return err
			}
			act, err := first(ctx, ep.Step)
			if err == nil {
				_, err = ep.Step(ctx, act)
			}
			return errors.Join(err, ep.Close(ctx))
		},
		own: func() (time.Duration, int64) {
			st := env.Stats()
			return st.RestoreTime, st.Restores
		},
	}
}

// forkCase times forking a live episode (started, one step taken) and
// closing the copy.
func (r *runner) forkCase(res Result, env *trt.Env, first firstAction) *timed {
	var ep *trt.Episode
	r.onClose(func(ctx context.Context) {
		if ep != nil {
			ep.Close(ctx)
		}
	})
	return &timed{Result: res,
		between: func(ctx context.Context) error {
			if ep != nil {
				return nil
			}
			e, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				return err
			}
			ep = e
			act, err := first(ctx, ep.Step)
			if err != nil {
				return err
			}
			_, err = ep.Step(ctx, act)
			return err
		},
		op: func(ctx context.Context) error {
			f, err := ep.Fork(ctx)
			if err != nil {
				return err
			}
			return f.Close(ctx)
		},
	}
}

// playSandbox plays an oracle episode and checks that it scores 1.
func playSandbox(ctx context.Context, env *trt.Env, seed uint64, task int) error {
	ep, _, err := env.Start(ctx, seed, task)
	if err != nil {
		return err
	}
	defer ep.Close(ctx)
	for turn := 0; turn < maxEpisodeTurns && !ep.Done(); turn++ {
		act, err := ep.Oracle(ctx)
		if err != nil {
			return err
		}
		act.Role = abi.RoleAssistant
		if _, err := ep.Step(ctx, *act); err != nil {
			return err
		}
	}
	s, err := ep.Score(ctx)
	if err != nil {
		return err
	}
	if s.Reward < fullReward {
		return fmt.Errorf("oracle episode (seed %d, task %d) scored %v, want 1", seed, task, s.Reward)
	}
	return nil
}

// playNative is playSandbox for a native env.
func playNative(n *sdk.Native, seed uint64, task int) error {
	if _, err := n.Reset(seed, task); err != nil {
		return err
	}
	for turn, done := 0, false; turn < maxEpisodeTurns && !done; turn++ {
		act, err := n.Oracle()
		if err != nil {
			return err
		}
		act.Role = abi.RoleAssistant
		res, err := n.Step(act)
		if err != nil {
			return err
		}
		done = res.Done
	}
	s, err := n.Score()
	if err != nil {
		return err
	}
	if s.Reward < fullReward {
		return fmt.Errorf("native oracle episode (seed %d, task %d) scored %v, want 1", seed, task, s.Reward)
	}
	return nil
}
