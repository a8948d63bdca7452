package trainer_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/testenv/echotest"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

// loadEcho returns the runtime's test env, shared by the test binary.
func loadEcho(tb testing.TB) *trt.Env { return echotest.Load(tb) }

func rollout(t *testing.T, env *trt.Env, pol trainer.Policy, opts trainer.Options) ([]*trainer.Trajectory, []byte, trainer.Summary) {
	t.Helper()
	var buf bytes.Buffer
	w := trainer.NewWriter(&buf)
	var recs []*trainer.Trajectory
	sum, err := trainer.Rollout(context.Background(), env, pol, opts, func(tr *trainer.Trajectory) error {
		recs = append(recs, tr)
		return w.Write(tr)
	})
	if err != nil {
		t.Fatalf("rollout: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return recs, buf.Bytes(), sum
}

func TestRolloutDeterministicAcrossConcurrency(t *testing.T) {
	env := loadEcho(t)
	_, serial, sum := rollout(t, env, trainer.OraclePolicy(), trainer.Options{Episodes: 24, Seed: 7})
	if sum.Episodes != 24 || sum.MeanReward != 1 || sum.Faults != 0 {
		t.Fatalf("summary %+v, want 24 episodes, reward 1, no faults", sum)
	}
	for _, conc := range []int{2, 5} {
		_, par, _ := rollout(t, env, trainer.OraclePolicy(), trainer.Options{Episodes: 24, Seed: 7, Concurrency: conc})
		if !bytes.Equal(serial, par) {
			t.Errorf("concurrency %d wrote different bytes than concurrency 1", conc)
		}
	}
}

func TestRolloutSeedsAndTasks(t *testing.T) {
	env := loadEcho(t)
	recs, _, _ := rollout(t, env, trainer.NullPolicy(), trainer.Options{Episodes: 6, Seed: 100})
	for i, r := range recs {
		if r.Episode != i || r.Seed != 100+uint64(i) || r.Task != i%env.Spec().Tasks {
			t.Errorf("record %d: episode %d seed %d task %d", i, r.Episode, r.Seed, r.Task)
		}
		if r.Reward != 0 || r.Termination.Reason != trainer.ReasonDone {
			t.Errorf("null policy record %d: reward %v termination %+v", i, r.Reward, r.Termination)
		}
		if r.Digest != r.ComputeDigest() || !strings.HasPrefix(r.Digest, "sha256:") {
			t.Errorf("record %d: digest %q", i, r.Digest)
		}
	}
	recs, _, _ = rollout(t, env, trainer.NullPolicy(), trainer.Options{Episodes: 4, Tasks: []int{3, 1}})
	if got := []int{recs[0].Task, recs[1].Task, recs[2].Task, recs[3].Task}; got[0] != 3 || got[1] != 1 || got[2] != 3 || got[3] != 1 {
		t.Errorf("tasks %v, want [3 1 3 1]", got)
	}
	if _, err := trainer.Rollout(context.Background(), env, trainer.NullPolicy(), trainer.Options{Episodes: 1, Tasks: []int{99}}, nil); err == nil {
		t.Error("task out of range accepted")
	}
}

// scripted plays fixed actions, for fault and turn-limit cases.
type scripted struct {
	name string
	acts []abi.Message
}

func (s scripted) Name() string { return s.name }
func (s scripted) Start(context.Context, trainer.EpisodeInfo) (trainer.Agent, error) {
	i := 0
	return trainer.AgentFunc(func(context.Context, []abi.Message) (abi.Message, error) {
		if i >= len(s.acts) {
			return abi.Message{}, errors.New("script exhausted")
		}
		i++
		return s.acts[i-1], nil
	}), nil
}

func call(tool, args string) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c1", Type: "function",
		Function: abi.FunctionCall{Name: tool, Arguments: args}}}}
}

func TestRolloutTerminations(t *testing.T) {
	env := loadEcho(t)
	tests := []struct {
		name     string
		acts     []abi.Message
		maxTurns int
		reason   string
		kind     string
	}{
		{"done", []abi.Message{call("say", `{"text":"a"}`), {Content: "a"}}, 5, trainer.ReasonDone, ""},
		{"max turns", []abi.Message{call("say", `{"text":"a"}`), call("say", `{"text":"b"}`)}, 2, trainer.ReasonMaxTurns, ""},
		{"guest panic", []abi.Message{call("panic", `{}`)}, 5, trainer.ReasonFault, "env"},
		{"guest exit", []abi.Message{call("exit", `{}`)}, 5, trainer.ReasonFault, "exit"},
		{"policy error", nil, 5, trainer.ReasonFault, "policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, _, _ := rollout(t, env, scripted{"script", tc.acts}, trainer.Options{Episodes: 1, MaxTurns: tc.maxTurns})
			tr := recs[0]
			if tr.Termination.Reason != tc.reason {
				t.Fatalf("termination %+v, want %s", tr.Termination, tc.reason)
			}
			if tc.kind != "" && (tr.Termination.Fault == nil || tr.Termination.Fault.Kind != tc.kind) {
				t.Fatalf("fault %+v, want kind %s", tr.Termination.Fault, tc.kind)
			}
			if tc.reason == trainer.ReasonFault && tr.Reward != 0 {
				t.Errorf("faulted episode has reward %v", tr.Reward)
			}
			if err := trainer.Replay(context.Background(), env, tr); err != nil {
				t.Errorf("replay of a %s episode: %v", tc.name, err)
			}
		})
	}
}

func TestReplayDetectsEdits(t *testing.T) {
	env := loadEcho(t)
	recs, _, _ := rollout(t, env, trainer.OraclePolicy(), trainer.Options{Episodes: 4, Seed: 3})
	for _, r := range recs {
		if err := trainer.Replay(context.Background(), env, r); err != nil {
			t.Fatalf("unedited replay: %v", err)
		}
	}
	clone := func() *trainer.Trajectory {
		var buf bytes.Buffer
		w := trainer.NewWriter(&buf)
		w.Write(recs[1])
		w.Flush()
		out, err := trainer.ReadAll(&buf, "clone")
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	tests := []struct {
		name string
		edit func(*trainer.Trajectory)
		what string
		turn int
	}{
		{"tool message", func(r *trainer.Trajectory) {
			r.Messages[2].Content = strings.Replace(r.Messages[2].Content, "hello", "hellO", 1)
		}, "observation", 1},
		{"opening message", func(r *trainer.Trajectory) { r.Messages[0].Content += "!" }, "observation", 0},
		{"reward", func(r *trainer.Trajectory) { r.Reward = 0.5 }, "score", -1},
		{"tools", func(r *trainer.Trajectory) { r.Tools = r.Tools[1:] }, "tools", 0},
		{"max turns", func(r *trainer.Trajectory) { r.MaxTurns = 99 }, "digest", -1},
		{"module", func(r *trainer.Trajectory) { r.Env.SHA256 = strings.Repeat("0", 64) }, "module", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := clone()
			tc.edit(r)
			err := trainer.Replay(context.Background(), env, r)
			var d *trainer.Divergence
			if !errors.As(err, &d) {
				t.Fatalf("replay of an edited record: %v, want a divergence", err)
			}
			if d.What != tc.what || d.Turn != tc.turn || d.Episode != 1 {
				t.Errorf("divergence %q at episode %d turn %d, want %q at episode 1 turn %d (%v)", d.What, d.Episode, d.Turn, tc.what, tc.turn, d)
			}
		})
	}
	// The report names the first differing byte.
	r := clone()
	r.Messages[2].Content = strings.Replace(r.Messages[2].Content, "hello", "hellO", 1)
	err := trainer.Replay(context.Background(), env, r)
	if msg := err.Error(); !strings.Contains(msg, "episode 1 turn 1: observation differs at byte") || !strings.Contains(msg, "hellO") {
		t.Errorf("report %q does not locate the edit", msg)
	}
}

// onlySay hides echo's misbehaving tools from a policy, so random play
// does not spend the tests' time in timeouts.
type onlySay struct{ trainer.Policy }

func (p onlySay) Start(ctx context.Context, ep trainer.EpisodeInfo) (trainer.Agent, error) {
	var keep []abi.Tool
	for _, t := range ep.Tools {
		if t.Function.Name == "say" {
			keep = append(keep, t)
		}
	}
	ep.Tools = keep
	return p.Policy.Start(ctx, ep)
}

func TestReplayPolicyReproducesDigests(t *testing.T) {
	env := loadEcho(t)
	recs, _, _ := rollout(t, env, onlySay{trainer.RandomPolicy()}, trainer.Options{Episodes: 12, Seed: 11, MaxTurns: 4})
	again, _, _ := rollout(t, env, trainer.ReplayPolicy(recs), trainer.Options{Episodes: 12, Seed: 11, MaxTurns: 4})
	for i := range recs {
		if recs[i].Digest != again[i].Digest {
			t.Errorf("episode %d: random %s, replayed %s", i, recs[i].Digest, again[i].Digest)
		}
	}
	// A replay policy refuses records of another seed.
	other, _, _ := rollout(t, env, trainer.ReplayPolicy(recs), trainer.Options{Episodes: 1, Seed: 999})
	if f := other[0].Termination.Fault; f == nil || f.Kind != "policy" {
		t.Errorf("mismatched replay: termination %+v, want a policy fault", other[0].Termination)
	}
}

func TestRandomPolicyIsSeeded(t *testing.T) {
	env := loadEcho(t)
	pol := onlySay{trainer.RandomPolicy()}
	a, _, _ := rollout(t, env, pol, trainer.Options{Episodes: 8, Seed: 5, MaxTurns: 3})
	b, _, _ := rollout(t, env, pol, trainer.Options{Episodes: 8, Seed: 5, MaxTurns: 3})
	c, _, _ := rollout(t, env, pol, trainer.Options{Episodes: 8, Seed: 6, MaxTurns: 3})
	same, differ := true, false
	for i := range a {
		same = same && a[i].Digest == b[i].Digest
		differ = differ || a[i].Digest != c[i].Digest
	}
	if !same || !differ {
		t.Errorf("random policy: same seed identical %v, other seed differs %v; want true, true", same, differ)
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", "{nope\n", "x.jsonl:1: malformed trajectory record"},
		{"wrong format", `{"format":"other/v9"}` + "\n", `x.jsonl:1: malformed trajectory record: format "other/v9"`},
		{"unknown field", "\n" + `{"format":"terrarium.trajectory/v1","bogus":1}` + "\n", "x.jsonl:2: malformed trajectory record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trainer.ReadAll(strings.NewReader(tc.in), "x.jsonl")
			if err == nil || !errors.Is(err, trainer.ErrBadRecord) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q wrapping ErrBadRecord", err, tc.want)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"format":"terrarium.trajectory/v1","episode":0,"env":{"name":"e","version":"1.0.0","sha256":"ab"},"seed":1,"task":0,"policy":"null","max_turns":1,"tools":[],"messages":[{"role":"user","content":"hi"}],"turns":0,"reward":0,"termination":{"reason":"done"},"digest":"sha256:00"}`))
	f.Add([]byte("{}\n{}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := trainer.ReadAll(bytes.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		for _, r := range recs {
			// Any record that parses must re-encode and digest without panicking.
			var buf bytes.Buffer
			w := trainer.NewWriter(&buf)
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
			_ = r.ComputeDigest()
		}
	})
}

// Group members share a forked start state and record exactly what a fresh
// episode with the same actions records, so every member replays alone.
func TestRolloutGroups(t *testing.T) {
	env := loadEcho(t)
	recs, _, sum := rollout(t, env, onlySay{trainer.RandomPolicy()}, trainer.Options{Episodes: 10, Seed: 40, GroupSize: 4, MaxTurns: 3})
	if sum.Episodes != 10 {
		t.Fatalf("%d episodes, want 10", sum.Episodes)
	}
	distinct := map[string]bool{}
	for i, r := range recs {
		g := i / 4
		if r.Episode != i || r.Seed != 40+uint64(g) || r.Task != g%env.Spec().Tasks {
			t.Errorf("record %d: episode %d seed %d task %d, want group %d's seed and task", i, r.Episode, r.Seed, r.Task, g)
		}
		if err := trainer.Replay(context.Background(), env, r); err != nil {
			t.Errorf("replay of group member %d from a fresh start: %v", i, err)
		}
		if g == 0 {
			distinct[r.Digest] = true
		}
	}
	if len(distinct) < 2 {
		t.Errorf("the 4 members of group 0 all played alike; want different samples")
	}
}
