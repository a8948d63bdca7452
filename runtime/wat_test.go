package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// guessWAT is the worked example of docs/abi.md.
const guessWATPath = "testdata/wat/guess.wat"

func wat2wasm(t *testing.T, src string) []byte { t.Helper(); return trt.Wat2Wasm(t, src) }

func guessSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(guessWATPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secret is the documented rule of guess.wat: SplitMix64's output function
// over the seed and the task, reduced to 1..100, 1..1000 or 1..10000.
func secret(seed uint64, task int) int {
	mix := func(x uint64) uint64 {
		x += 0x9E3779B97F4A7C15
		x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
		x = (x ^ (x >> 27)) * 0x94D049BB133111EB
		return x ^ (x >> 31)
	}
	return 1 + int(mix(seed^mix(uint64(task)))%uint64(guessRange(task)))
}

func guessRange(task int) int {
	r := 100
	for range task {
		r *= 10
	}
	return r
}

func loadGuess(t *testing.T, h *trt.Host) *trt.Env {
	t.Helper()
	env, err := h.Load(context.Background(), trt.Source{Name: "guess.wasm", Wasm: wat2wasm(t, guessSource(t))})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return env
}

// TestGuessWAT plays the hand-written environment of docs/abi.md through
// the runtime: spec, start, tool calls found by binary search, final answer,
// score.
func TestGuessWAT(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, trt.NewConfig())
	env := loadGuess(t, h)
	spec := env.Spec()
	if spec.Name != "guess" || spec.Version != "1.0.0" || spec.Tasks != 3 || spec.MaxTurns != 20 {
		t.Fatalf("spec = %+v", spec)
	}
	if !env.HasOracle() {
		t.Fatal("HasOracle = false; guess.wat exports terrarium_oracle")
	}
	for task := range spec.Tasks {
		for _, seed := range []uint64{0, 1, 1 << 63} {
			t.Run(fmt.Sprintf("task%d/seed%d", task, seed), func(t *testing.T) {
				ep, obs, err := env.Start(ctx, seed, task)
				if err != nil {
					t.Fatal(err)
				}
				defer ep.Close(ctx)
				if len(obs.Messages) != 1 || obs.Messages[0].Role != abi.RoleUser ||
					!strings.Contains(obs.Messages[0].Content, fmt.Sprintf("between 1 and %d.", guessRange(task))) {
					t.Fatalf("observation messages = %+v", obs.Messages)
				}
				if len(obs.Tools) != 1 || obs.Tools[0].Function.Name != "guess" || !json.Valid(obs.Tools[0].Function.Parameters) {
					t.Fatalf("observation tools = %+v", obs.Tools)
				}
				lo, hi, turns, found := 1, guessRange(task), 0, 0
				for found == 0 {
					if turns++; turns > spec.MaxTurns {
						t.Fatalf("no correct guess after %d turns", spec.MaxTurns)
					}
					mid := (lo + hi) / 2
					id := fmt.Sprintf("call_%d", turns)
					res, err := ep.Step(ctx, call(id, "guess", fmt.Sprintf(`{"n": %d}`, mid)))
					if err != nil {
						t.Fatal(err)
					}
					if res.Done || len(res.Messages) != 1 {
						t.Fatalf("step result = %+v", res)
					}
					m := res.Messages[0]
					if m.Role != abi.RoleTool || m.ToolCallID != id || m.Name != "guess" {
						t.Fatalf("tool message = %+v", m)
					}
					switch m.Content {
					case "higher":
						lo = mid + 1
					case "lower":
						hi = mid - 1
					case "correct":
						found = mid
					default:
						t.Fatalf("tool content %q", m.Content)
					}
				}
				if want := secret(seed, task); found != want {
					t.Fatalf("found secret %d, the documented rule gives %d", found, want)
				}
				res, err := ep.Step(ctx, answer(fmt.Sprintf("It is %d.", found)))
				if err != nil {
					t.Fatal(err)
				}
				if !res.Done || len(res.Messages) != 0 || !ep.Done() {
					t.Fatalf("final step result = %+v, Done() = %v", res, ep.Done())
				}
				score, err := ep.Score(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if score.Reward != 1 || score.Components["guesses"] != float64(turns) {
					t.Fatalf("score = %+v, want reward 1 after %d guesses", score, turns)
				}
				if !bytes.Contains(ep.Output(), []byte("[info] episode started\n")) {
					t.Fatalf("output %q lacks the log line", ep.Output())
				}
			})
		}
	}
}

// TestGuessWATProtocol covers the rest of the example's contract: wrong
// answers, the oracle, tool errors, several calls in one action, and
// refused requests that leave the episode usable.
func TestGuessWATProtocol(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, trt.NewConfig())
	env := loadGuess(t, h)
	start := func(t *testing.T) *trt.Episode {
		t.Helper()
		ep, _, err := env.Start(ctx, 42, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close(ctx) })
		return ep
	}
	step := func(t *testing.T, ep *trt.Episode, action abi.Message) *abi.StepResult {
		t.Helper()
		res, err := ep.Step(ctx, action)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	score := func(t *testing.T, ep *trt.Episode) *abi.Score {
		t.Helper()
		s, err := ep.Score(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	guestStatus := func(t *testing.T, err error, want abi.Status) {
		t.Helper()
		var ge *trt.GuestError
		if !errors.As(err, &ge) || ge.Status != want {
			t.Fatalf("error = %v, want a *GuestError with status %q", err, want)
		}
	}

	t.Run("wrong answer", func(t *testing.T) {
		ep := start(t)
		step(t, ep, answer(fmt.Sprint(secret(42, 0)%100+1)))
		if s := score(t, ep); s.Reward != 0 {
			t.Fatalf("score = %+v, want reward 0", s)
		}
	})
	t.Run("answer without a number", func(t *testing.T) {
		ep := start(t)
		step(t, ep, answer("no idea"))
		if s := score(t, ep); s.Reward != 0 {
			t.Fatalf("score = %+v, want reward 0", s)
		}
	})
	t.Run("oracle", func(t *testing.T) {
		ep := start(t)
		for turn := 0; !ep.Done(); turn++ {
			if turn == 3 {
				t.Fatal("the oracle did not finish in 2 turns")
			}
			m, err := ep.Oracle(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Role != abi.RoleAssistant {
				t.Fatalf("oracle role %q", m.Role)
			}
			if turn == 0 && len(m.ToolCalls) != 1 {
				t.Fatalf("oracle's first action = %+v, want one guess", m)
			}
			res := step(t, ep, *m)
			if turn == 0 && res.Messages[0].Content != "correct" {
				t.Fatalf("oracle's guess got %q", res.Messages[0].Content)
			}
		}
		if s := score(t, ep); s.Reward != 1 || s.Components["guesses"] != 1 {
			t.Fatalf("score = %+v, want reward 1 after 1 guess", s)
		}
	})
	t.Run("tool errors", func(t *testing.T) {
		ep := start(t)
		for _, c := range []struct{ name, args string }{
			{"guess", `{"n":"fifty"}`},
			{"guess", `{}`},
			{"guess", `not json`},
			{"peek", `{"n":1}`},
		} {
			res := step(t, ep, call("c", c.name, c.args))
			var te abi.Error
			if err := toolJSON(res, &te); err != nil || te.Error == "" {
				t.Fatalf("%s(%s): want a tool error, got %+v (%v)", c.name, c.args, res, err)
			}
		}
		if s := score(t, ep); s.Components["guesses"] != 0 {
			t.Fatalf("failed calls counted as guesses: %+v", s)
		}
	})
	t.Run("several calls", func(t *testing.T) {
		ep := start(t)
		s := secret(42, 0)
		action := abi.Message{Role: abi.RoleAssistant}
		for i, n := range []int{s - 1, s, s + 1} {
			action.ToolCalls = append(action.ToolCalls, abi.ToolCall{ID: fmt.Sprintf("c%d", i), Type: "function",
				Function: abi.FunctionCall{Name: "guess", Arguments: fmt.Sprintf(`{"n":%d}`, n)}})
		}
		res := step(t, ep, action)
		var got []string
		for _, m := range res.Messages {
			got = append(got, m.ToolCallID+"="+m.Content)
		}
		if want := "c0=higher c1=correct c2=lower"; strings.Join(got, " ") != want {
			t.Fatalf("tool messages %q, want %q", got, want)
		}
	})
	t.Run("refused requests", func(t *testing.T) {
		ep := start(t)
		_, err := ep.StepJSON(ctx, []byte(`{"role":"user","content":"7"}`))
		guestStatus(t, err, abi.StatusBadRequest)
		_, err = ep.StepJSON(ctx, []byte(`nonsense`))
		guestStatus(t, err, abi.StatusBadRequest)
		// Still usable, and the refused actions changed nothing.
		step(t, ep, call("c", "guess", `{"n":1}`))
		step(t, ep, answer(fmt.Sprint(secret(42, 0))))
		_, err = ep.Step(ctx, answer("1"))
		guestStatus(t, err, abi.StatusBadState)
		if s := score(t, ep); s.Reward != 1 || s.Components["guesses"] != 1 {
			t.Fatalf("score = %+v, want reward 1 after 1 guess", s)
		}
	})
}

// TestGuessWATFaults breaks the example in ways only a hand-written guest
// can, to check how the host reports ABI violations (docs/abi.md, "Limits
// and faults").
func TestGuessWATFaults(t *testing.T) {
	guess := guessSource(t)
	// stepHead is the end of terrarium_step's declarations, where
	// instructions may be inserted.
	const stepHead = `(local $n i32) (local $calls i32) (local $guesses i32)`
	guessOne := call("c", "guess", `{"n":1}`)
	tests := []struct {
		name   string
		edits  [][2]string // old, new: every old is replaced
		action abi.Message
		kind   trt.FaultKind
		reason string
	}{
		{"trap", [][2]string{{stepHead, stepHead + " (unreachable)"}},
			guessOne, trt.FaultTrap, "wasm error: unreachable"},
		{"env failure", [][2]string{{
			`(then (return (call $fail (i32.const 1) (global.get $E_ROLE)))))`,
			`(then (return (call $fail (i32.const 4) (global.get $E_ROLE)))))`}},
			abi.Message{Role: abi.RoleUser}, trt.FaultEnv, `the action must be a JSON object with role "assistant"`},
		{"unknown status", [][2]string{{
			"(call $emit (global.get $S_STEP_MORE))\n    (call $reply (i32.const 0)))",
			"(call $emit (global.get $S_STEP_MORE))\n    (call $reply (i32.const 7)))"}},
			guessOne, trt.FaultProtocol, "unknown status 7"},
		{"reply not JSON", [][2]string{{`"],\"done\":false}\00"`, `"],\"done\":false\00"`}},
			guessOne, trt.FaultProtocol, "reply is not a step result"},
		{"reply of the wrong shape", [][2]string{{`"{\"messages\":[],\"done\":true}\00"`, `"{\"messages\":{},\"done\":true}\00"`}},
			answer("1"), trt.FaultProtocol, "reply is not a step result"},
		{"buffer outside memory", [][2]string{{
			"(global.set $req_cap (local.get $size))\n    (global.get $REQ))",
			"(global.set $req_cap (local.get $size))\n    (i32.const 0x7fff0000))"}},
			guessOne, trt.FaultProtocol, "terrarium_buffer returned 0x7fff0000, outside memory"},
		{"reply over the limit", [][2]string{{stepHead, stepHead + " (global.set $reply_len (i32.const 0x100000)) (return (i32.const 0))"}},
			guessOne, trt.FaultProtocol, "reply of 1048576 bytes exceeds the limit of 65536"},
		{"reply outside memory", [][2]string{
			{stepHead, stepHead + " (global.set $reply_len (i32.const 12345)) (return (i32.const 0))"},
			{`(func (export "terrarium_result_ptr") (result i32) (global.get $REPLY))`,
				`(func (export "terrarium_result_ptr") (result i32)
    (select (i32.const 0x7fff0000) (global.get $REPLY) (i32.eq (global.get $reply_len) (i32.const 12345))))`},
		}, guessOne, trt.FaultProtocol, "reply [0x7fff0000,+12345) is outside memory"},
	}
	ctx := context.Background()
	h := newHost(t, trt.NewConfig().WithReplyLimitBytes(64<<10))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := guess
			for _, e := range tt.edits {
				if !strings.Contains(src, e[0]) {
					t.Fatalf("guess.wat no longer contains %q", e[0])
				}
				src = strings.ReplaceAll(src, e[0], e[1])
			}
			env, err := h.Load(ctx, trt.Source{Name: "guess.wasm", Wasm: wat2wasm(t, src)})
			if err != nil {
				t.Fatal(err)
			}
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close(ctx)
			_, err = ep.Step(ctx, tt.action)
			var f *trt.Fault
			if !errors.As(err, &f) || f.Kind != tt.kind || f.Op != "step" || !strings.Contains(f.Reason, tt.reason) {
				t.Fatalf("step: %v; want a %s fault in step saying %q", err, tt.kind, tt.reason)
			}
			t.Logf("%v", err)
			if _, err := ep.Score(ctx); !errors.Is(err, trt.ErrClosed) {
				t.Fatalf("score after the fault: %v, want ErrClosed", err)
			}
		})
	}
}

// TestGuessWATWithoutOracle: the oracle export is optional.
func TestGuessWATWithoutOracle(t *testing.T) {
	ctx := context.Background()
	src := guessSource(t)
	const oracle = `(func (export "terrarium_oracle")`
	if !strings.Contains(src, oracle) {
		t.Fatalf("guess.wat no longer contains %q", oracle)
	}
	h := newHost(t, trt.NewConfig())
	env, err := h.Load(ctx, trt.Source{Name: "guess.wasm", Wasm: wat2wasm(t, strings.Replace(src, oracle, `(func $oracle`, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if env.HasOracle() {
		t.Fatal("HasOracle = true without the export")
	}
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	if _, err := ep.Oracle(ctx); !errors.Is(err, trt.ErrNoOracle) {
		t.Fatalf("oracle: %v, want ErrNoOracle", err)
	}
	if _, err := ep.Step(ctx, answer("1")); err != nil {
		t.Fatalf("step after asking for a missing oracle: %v", err)
	}
}
