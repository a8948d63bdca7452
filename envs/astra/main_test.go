package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/astra"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/sdk"
)

// These tests run the runner natively (sdk.NewNative), which is fast enough
// to cover every reward mode and many seeds; internal/astra's tests run the
// built module through the runtime.

var inputs = []string{"../../../shared/astra/sample.jsonl", "../../internal/astra/testdata/records.jsonl"}

// configured compiles the test records with opts and configures the runner
// with the task set, as the host does.
func configured(t *testing.T, opts astra.Options) *astra.Result {
	t.Helper()
	var in bytes.Buffer
	for _, f := range inputs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(b)
	}
	res, err := astra.Compile(context.Background(), &in, opts)
	if err != nil {
		t.Fatal(err)
	}
	var ts bytes.Buffer
	if err := res.WriteTaskSet(&ts); err != nil {
		t.Fatal(err)
	}
	if err := configure(ts.Bytes()); err != nil {
		t.Fatal(err)
	}
	return res
}

// run plays task i with the oracle (or, with answer set, a policy that
// answers at once) and returns the score.
func run(t *testing.T, seed uint64, i int, useOracle bool, answer string) abi.Score {
	t.Helper()
	n := sdk.NewNative(func() sdk.Env { return new(env) })
	if _, err := n.Reset(seed, i); err != nil {
		t.Fatal(err)
	}
	for turn := 0; turn < 20; turn++ {
		act := abi.Message{Role: abi.RoleAssistant, Content: answer}
		if useOracle {
			m, err := n.Oracle()
			if err != nil {
				t.Fatal(err)
			}
			act = m
		}
		r, err := n.Step(act)
		if err != nil {
			t.Fatal(err)
		}
		if r.Done {
			break
		}
	}
	s, err := n.Score()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestModes(t *testing.T) {
	for _, mode := range []task.Mode{task.ModeF1, task.ModeF1Final, task.ModeFinal} {
		t.Run(string(mode), func(t *testing.T) {
			res := configured(t, astra.Options{Mode: mode})
			for i, tk := range res.Tasks {
				if s := run(t, 1, i, true, ""); s.Reward < 1-task.Epsilon {
					t.Errorf("%s: oracle reward %v (%v)", tk.UUID, s.Reward, s.Components)
				}
				if s := run(t, 1, i, false, ""); s.Reward != 0 {
					t.Errorf("%s: null reward %v (%v)", tk.UUID, s.Reward, s.Components)
				}
				// The gold answer without any tool call: only "final" pays.
				s := run(t, 1, i, false, tk.FinalAnswer)
				want := map[task.Mode]float64{task.ModeF1: 0, task.ModeF1Final: 0, task.ModeFinal: 1}[mode]
				if s.Reward != want {
					t.Errorf("%s: answer without tools: reward %v, want %v", tk.UUID, s.Reward, want)
				}
			}
		})
	}
}

func TestDistractorsManySeeds(t *testing.T) {
	for _, k := range []int{1, 3, 50} {
		res := configured(t, astra.Options{Distractors: k})
		for i, tk := range res.Tasks {
			for seed := uint64(0); seed < 16; seed++ {
				n := sdk.NewNative(func() sdk.Env { return new(env) })
				obs, err := n.Reset(seed, i)
				if err != nil {
					t.Fatal(err)
				}
				names := map[string]bool{}
				for _, tl := range obs.Tools {
					if names[tl.Function.Name] {
						t.Fatalf("k=%d %s seed %d: %s offered twice", k, tk.UUID, seed, tl.Function.Name)
					}
					names[tl.Function.Name] = true
				}
				extra := len(obs.Tools) - len(tk.Tools)
				// A small import may have fewer usable tools than k.
				if extra > k || k <= 3 && extra != k {
					t.Errorf("k=%d %s seed %d: %d distractors", k, tk.UUID, seed, extra)
				}
				again := sdk.NewNative(func() sdk.Env { return new(env) })
				obs2, _ := again.Reset(seed, i)
				a, _ := json.Marshal(obs)
				b, _ := json.Marshal(obs2)
				if !bytes.Equal(a, b) {
					t.Errorf("k=%d %s seed %d: reset not deterministic", k, tk.UUID, seed)
				}
			}
		}
	}
}

func TestNoConfiguration(t *testing.T) {
	set = nil
	n := sdk.NewNative(func() sdk.Env { return new(env) })
	if _, err := n.Spec(); err == nil {
		t.Error("spec without a task set: want an error")
	}
	if err := configure([]byte(`{"format":"something else"}`)); err == nil {
		t.Error("configure with a foreign blob: want an error")
	}
}
