package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// TestHammer drives one Env from many goroutines at once: episodes start,
// step, fault and close concurrently, in four patterns. Round r of every
// worker uses the same seed and task, so the observations of a round must
// be identical whatever ran beside them.
func TestHammer(t *testing.T) {
	const workers, rounds = 6, 4
	ctx := context.Background()
	env := loadEcho(t, newHost(t, patientConfig()))
	obs := make([][]string, rounds)
	for r := range obs {
		obs[r] = make([]string, workers)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				o, err := hammerEpisode(ctx, env, uint64(r), r%env.Spec().Tasks, (w+r)%4)
				if err != nil {
					errs[w] = fmt.Errorf("worker %d round %d: %w", w, r, err)
					return
				}
				obs[r][w] = o
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for r := range rounds {
		for w := 1; w < workers; w++ {
			if obs[r][w] != obs[r][0] {
				t.Errorf("round %d: worker %d observed %s, worker 0 observed %s", r, w, obs[r][w], obs[r][0])
			}
		}
	}
}

// hammerEpisode runs one episode in one of four patterns and returns its
// observation as JSON.
func hammerEpisode(ctx context.Context, env *trt.Env, seed uint64, task, pattern int) (string, error) {
	ep, obs, err := env.Start(ctx, seed, task)
	if err != nil {
		return "", err
	}
	defer ep.Close(ctx)
	o, err := json.Marshal(obs)
	if err != nil {
		return "", err
	}
	switch pattern {
	case 0: // play to the end with the oracle
		err = playEcho(ctx, ep, nil)
	case 1: // say a few things, then close without scoring
		for i := 1; i <= 3 && err == nil; i++ {
			var res *abi.StepResult
			if res, err = ep.Step(ctx, call("c", "say", `{"text":"x"}`)); err == nil {
				var got struct{ N int }
				if err = toolJSON(res, &got); err == nil && got.N != i {
					err = fmt.Errorf("say #%d returned n=%d", i, got.N)
				}
			}
		}
	case 2: // a refused request in the middle of a game
		if _, err = ep.StepJSON(ctx, []byte(`{"role":"tool"}`)); !errors.As(err, new(*trt.GuestError)) {
			return "", fmt.Errorf("bad request: %v, want a *GuestError", err)
		}
		err = playEcho(ctx, ep, nil)
	case 3: // a fault, then calls on the dead episode
		var f *trt.Fault
		if _, err = ep.Step(ctx, call("c", "exit", "{}")); !errors.As(err, &f) || f.Kind != trt.FaultExit {
			return "", fmt.Errorf("exit tool: %v, want an exit fault", err)
		}
		if _, err = ep.Score(ctx); !errors.Is(err, trt.ErrClosed) {
			return "", fmt.Errorf("score after a fault: %v, want ErrClosed", err)
		}
		err = nil
	}
	return string(o), err
}
