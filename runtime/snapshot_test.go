package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// playSay runs a short episode and returns everything it observed.
func playSay(t *testing.T, env *trt.Env, seed uint64, task int) string {
	t.Helper()
	ctx := context.Background()
	ep, obs, err := env.Start(ctx, seed, task)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	out, _ := json.Marshal(obs)
	for i, act := range []abi.Message{call("a", "say", `{"text":"x"}`), call("b", "say", `{"text":"y"}`), answer("x y")} {
		res, err := ep.Step(ctx, act)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		b, _ := json.Marshal(res)
		out = append(out, b...)
	}
	s, err := ep.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %v", out, s.Reward)
}

// Recycled instances (restored to the snapshot) and fresh instances (also
// restored to it) must be indistinguishable, whatever ran on them before.
func TestRecycledInstancesMatchFresh(t *testing.T) {
	fresh := loadEcho(t, newHost(t, trt.NewConfig().WithInstanceReuse(false)))
	pooled := loadEcho(t, newHost(t, trt.NewConfig()))
	for i := 0; i < 40; i++ {
		seed, task := uint64(i*7919), i%4
		want := playSay(t, fresh, seed, task)
		if got := playSay(t, pooled, seed, task); got != want {
			t.Fatalf("episode %d: recycled instance gave\n%s\nfresh instance gave\n%s", i, got, want)
		}
	}
}

// A faulted episode's instance is never recycled, and the next episode on
// the same env is unaffected by the fault.
func TestFaultedInstanceNotRecycled(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, trt.NewConfig()))
	want := playSay(t, env, 5, 1)
	for _, tool := range []string{"panic", "exit"} {
		ep, _, err := env.Start(ctx, 5, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ep.Step(ctx, call("c", tool, `{}`)); err == nil {
			t.Fatalf("%s: no fault", tool)
		}
		ep.Close(ctx)
		if got := playSay(t, env, 5, 1); got != want {
			t.Fatalf("after a %s fault, episode differs:\n%s\nwant\n%s", tool, got, want)
		}
	}
}

// After Close, an episode's instance may serve another episode: the closed
// episode must refuse every call.
func TestClosedEpisodeRefusesCalls(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, trt.NewConfig()))
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	ep.Close(ctx)
	other, _, err := env.Start(ctx, 2, 0) // likely takes the recycled instance
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := ep.Step(ctx, call("a", "say", `{"text":"x"}`)); !errors.Is(err, trt.ErrClosed) {
		t.Errorf("step after close: %v, want ErrClosed", err)
	}
	if _, err := ep.Score(ctx); !errors.Is(err, trt.ErrClosed) {
		t.Errorf("score after close: %v, want ErrClosed", err)
	}
	if _, err := ep.Oracle(ctx); !errors.Is(err, trt.ErrClosed) {
		t.Errorf("oracle after close: %v, want ErrClosed", err)
	}
	if res, err := other.Step(ctx, call("a", "say", `{"text":"x"}`)); err != nil || len(res.Messages) != 1 {
		t.Errorf("the other episode was disturbed: %v %+v", err, res)
	}
}
