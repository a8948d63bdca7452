package openai

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/testenv/echotest"
	"github.com/terrarium-rl/terrarium/trainer"
)

// TestRolloutEcho plays the runtime's echo environment end to end against a
// server scripted as a model that calls say("hello") and then answers
// "hello", checking on the way that the environment's tools and tool
// results reach the model as the API has them.
func TestRolloutEcho(t *testing.T) {
	ctx := context.Background()
	env := echotest.Load(t)

	s := newServer(t)
	s.answer = func(req map[string]any) reply {
		msgs, _ := req["messages"].([]any)
		tools, _ := req["tools"].([]any)
		if !hasTool(tools, "say") {
			t.Errorf("request offers no say tool: %v", tools)
		}
		switch len(msgs) {
		case 1:
			return ok(completion(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_say","type":"function","function":{"name":"say","arguments":"{\"text\":\"hello\"}"}}]}`))
		case 3:
			call, _ := msgs[1].(map[string]any)
			res, _ := msgs[2].(map[string]any)
			if call["role"] != "assistant" || res["role"] != "tool" || res["tool_call_id"] != "call_say" ||
				!strings.Contains(res["content"].(string), `"echo":"hello"`) {
				t.Errorf("second request's history: %v", msgs)
			}
			return ok(completion(`{"role":"assistant","content":"hello"}`))
		}
		t.Errorf("unexpected conversation of %d messages: %v", len(msgs), msgs)
		return reply{status: 400, body: "unexpected"}
	}
	p := newPolicy(t, s.config())

	run := func() ([]*trainer.Trajectory, []byte) {
		var buf bytes.Buffer
		w := trainer.NewWriter(&buf)
		var recs []*trainer.Trajectory
		sum, err := trainer.Rollout(ctx, env, p, trainer.Options{Episodes: 6, Seed: 3, Concurrency: 3, GroupSize: 2}, func(tr *trainer.Trajectory) error {
			recs = append(recs, tr)
			return w.Write(tr)
		})
		if err != nil {
			t.Fatalf("rollout: %v", err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if sum.Episodes != 6 || sum.MeanReward != 1 || sum.Faults != 0 {
			t.Fatalf("summary %+v, want 6 episodes of reward 1", sum)
		}
		return recs, buf.Bytes()
	}
	recs, first := run()
	if recs[0].Policy != "openai:test-model" || recs[0].Turns != 2 {
		t.Fatalf("trajectory policy %q, %d turns; want openai:test-model, 2", recs[0].Policy, recs[0].Turns)
	}
	// Against a deterministic server, the whole rollout is reproducible.
	if _, second := run(); !bytes.Equal(first, second) {
		t.Fatal("two rollouts against the same scripted server differ")
	}
	// Each episode sampled with seeds of its own, also the two of each
	// group, which share a seed and task.
	seeds := map[float64]bool{}
	for i := 0; i < s.count(); i++ {
		seeds[s.request(i)["seed"].(float64)] = true
	}
	if len(seeds) != 12 {
		t.Fatalf("%d distinct sampling seeds over 6 episodes (3 groups of 2) of 2 turns, want 12", len(seeds))
	}
}

func hasTool(tools []any, name string) bool {
	for _, t := range tools {
		m, _ := t.(map[string]any)
		f, _ := m["function"].(map[string]any)
		if reflect.DeepEqual(f["name"], name) {
			return true
		}
	}
	return false
}
