package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// faultConfig has limits small enough for the misbehaving tools to hit
// quickly. The step timeout is far above what a healthy call needs even on
// a loaded machine, since the healthy episodes share it.
func faultConfig() trt.Config {
	return trt.NewConfig().
		WithMemoryLimitPages(1024). // 64 MiB: room for the 16 MiB stack recurse needs to overflow
		WithStepTimeout(15 * time.Second).
		WithOutputLimitBytes(64 << 10)
}

// playEcho runs one healthy echo episode with the env's oracle: say hello,
// then answer. wait, when not nil, is called between the two turns, so that
// the caller can hold the episode open mid-way.
func playEcho(ctx context.Context, ep *trt.Episode, wait func()) error {
	for turn := 0; !ep.Done(); turn++ {
		if turn == 1 && wait != nil {
			wait()
		}
		if turn == 2 {
			return fmt.Errorf("not done after 2 turns")
		}
		act, err := ep.Oracle(ctx)
		if err != nil {
			return err
		}
		res, err := ep.Step(ctx, *act)
		if err != nil {
			return err
		}
		if turn == 0 && (len(res.Messages) != 1 || res.Messages[0].Content != `{"echo":"hello","n":1}`) {
			return fmt.Errorf("say hello returned %+v", res.Messages)
		}
	}
	s, err := ep.Score(ctx)
	if err != nil {
		return err
	}
	if s.Reward != 1 {
		return fmt.Errorf("reward %v, want 1", s.Reward)
	}
	return nil
}

// TestFaultsAreIsolated makes each kind of guest misbehaviour happen in its
// own episode while 100 healthy episodes of the same Env are open, half-way
// through, on the same host. Each fault must end its own episode only, as a
// *Fault of the right kind with a readable reason, and every healthy episode
// must finish with reward 1.
func TestFaultsAreIsolated(t *testing.T) {
	faults := []struct {
		tool   string
		kind   trt.FaultKind
		reason string
	}{
		{"loop", trt.FaultBudget, "compute budget of 1000000000 exhausted"},
		{"alloc", trt.FaultMemory, "memory limit of 1024 pages (64 MiB) exhausted"},
		{"recurse", trt.FaultTrap, "stack exceeds"},
		{"panic", trt.FaultEnv, "step panicked: assignment to entry in nil map"},
		{"flood", trt.FaultOutput, "guest wrote more than 65536 bytes of output"},
		{"exit", trt.FaultExit, "guest exited with code 3"},
	}
	const healthy = 100
	ctx := context.Background()
	env := loadEcho(t, newHost(t, faultConfig()))
	// gate bounds the healthy guest calls running at once. The step timeout
	// is wall-clock, so a hundred calls sharing two cores could each take
	// longer than it; the test is about isolation, not load.
	gate := make(chan struct{}, 4)

	// Open every episode first, so that all of them are alive while the
	// faults happen.
	eps := make([]*trt.Episode, healthy+len(faults))
	var wg sync.WaitGroup
	startErrs := make([]error, len(eps))
	for i := range eps {
		wg.Go(func() {
			gate <- struct{}{}
			defer func() { <-gate }()
			ep, _, err := env.Start(ctx, uint64(i), i%env.Spec().Tasks)
			eps[i], startErrs[i] = ep, err
		})
	}
	wg.Wait()
	if err := errors.Join(startErrs...); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ep := range eps {
			ep.Close(ctx)
		}
	}()

	// Healthy episodes play their first turn alongside the faults and
	// their second after all faults happened.
	var faulted sync.WaitGroup
	faulted.Add(len(faults))
	healthyErrs := make([]error, healthy)
	for i := range healthy {
		wg.Go(func() {
			gate <- struct{}{}
			healthyErrs[i] = playEcho(ctx, eps[i], func() {
				<-gate
				faulted.Wait()
				gate <- struct{}{}
			})
			<-gate
		})
	}
	// The faults happen one after another, beside the healthy episodes:
	// run at once, they would compete for the cores with the infinite loop
	// and could run past the wall-clock step timeout themselves.
	faultErrs := make([]error, len(faults))
	wg.Go(func() {
		for i, f := range faults {
			_, faultErrs[i] = eps[healthy+i].Step(ctx, call("c1", f.tool, "{}"))
			faulted.Done()
		}
	})
	wg.Wait()

	for i, f := range faults {
		t.Run(f.tool, func(t *testing.T) {
			ep, err := eps[healthy+i], faultErrs[i]
			var fault *trt.Fault
			if !errors.As(err, &fault) {
				t.Fatalf("step returned %v; want a *Fault", err)
			}
			if fault.Kind != f.kind || fault.Op != "step" || !strings.Contains(fault.Reason, f.reason) ||
				strings.Contains(fault.Reason, "\n") {
				t.Fatalf("fault = {Kind: %s, Op: %s, Reason: %q}; want kind %s, op step and a one-line reason containing %q",
					fault.Kind, fault.Op, fault.Reason, f.kind, f.reason)
			}
			t.Logf("%v", fault)
			// The episode is over: every later call says so.
			if _, err := ep.Step(ctx, call("c2", "say", `{"text":"hi"}`)); !errors.Is(err, trt.ErrClosed) {
				t.Errorf("step after the fault: %v, want ErrClosed", err)
			}
			if _, err := ep.Score(ctx); !errors.Is(err, trt.ErrClosed) {
				t.Errorf("score after the fault: %v, want ErrClosed", err)
			}
			if _, err := ep.Oracle(ctx); !errors.Is(err, trt.ErrClosed) {
				t.Errorf("oracle after the fault: %v, want ErrClosed", err)
			}
			if err := ep.Close(ctx); err != nil {
				t.Errorf("close after the fault: %v", err)
			}
		})
	}
	t.Run("healthy", func(t *testing.T) {
		for i, err := range healthyErrs {
			if err != nil {
				t.Errorf("healthy episode %d: %v", i, err)
			}
		}
	})
}

// TestFaultOutput checks that a fault carries the tail of what the guest
// wrote, which is how an env author learns why it died.
func TestFaultOutput(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, faultConfig()))
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	_, err = ep.Step(ctx, call("c1", "panic", "{}"))
	var fault *trt.Fault
	if !errors.As(err, &fault) {
		t.Fatalf("step: %v, want a *Fault", err)
	}
	// The SDK logs a recovered panic with its stack through terrarium.log.
	for _, want := range []string{"[error] step panicked: assignment to entry in nil map", "testenv.go"} {
		if !strings.Contains(fault.Output, want) {
			t.Errorf("fault output lacks %q:\n%s", want, fault.Output)
		}
	}
}

// TestTimeoutWithoutFuel: with fuel off, the wall-clock step timeout is
// what stops a guest that loops forever.
func TestTimeoutWithoutFuel(t *testing.T) {
	env := loadEcho(t, newHost(t, faultConfig().WithFuelPerStep(0).WithStepTimeout(300*time.Millisecond)))
	ctx := context.Background()
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	_, err = ep.Step(ctx, call("c1", "loop", "{}"))
	var fault *trt.Fault
	if !errors.As(err, &fault) || fault.Kind != trt.FaultTimeout || !strings.Contains(fault.Reason, "did not finish within 300ms") {
		t.Fatalf("loop without fuel: %v, want a timeout fault", err)
	}
}

// TestCanceledContext: a caller's context that is done stops the guest and
// ends the episode with a canceled fault, not a timeout.
func TestCanceledContext(t *testing.T) {
	env := loadEcho(t, newHost(t, faultConfig()))
	ep, _, err := env.Start(context.Background(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ep.Step(ctx, call("c1", "loop", "{}"))
	var fault *trt.Fault
	if !errors.As(err, &fault) || fault.Kind != trt.FaultCanceled {
		t.Fatalf("step with a canceled context: %v, want a canceled fault", err)
	}
}

// TestRefusedRequests: requests the guest refuses (bad request, bad state)
// and requests the host refuses (too large) are errors that leave the
// episode usable.
func TestRefusedRequests(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, patientConfig().WithRequestLimitBytes(1024)))
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	guestErr := func(t *testing.T, err error, status abi.Status) {
		t.Helper()
		var ge *trt.GuestError
		if !errors.As(err, &ge) || ge.Status != status || ge.Op != "step" || ge.Message == "" {
			t.Fatalf("error %v, want a *GuestError of step with status %q", err, status)
		}
	}
	say := func(t *testing.T, text string, n int) {
		t.Helper()
		res, err := ep.Step(ctx, call("c", "say", fmt.Sprintf(`{"text":%q}`, text)))
		if err != nil {
			t.Fatalf("say after a refused request: %v", err)
		}
		var got struct {
			Echo string
			N    int
		}
		if err := toolJSON(res, &got); err != nil || got.Echo != text || got.N != n {
			t.Fatalf("say %q returned %+v (%v), want echo %q, n %d", text, res, err, text, n)
		}
	}
	_, err = ep.StepJSON(ctx, []byte(`{"role":"assistant"`))
	guestErr(t, err, abi.StatusBadRequest)
	say(t, "a", 1)
	_, err = ep.StepJSON(ctx, []byte(`{"role":"user","content":"hi"}`))
	guestErr(t, err, abi.StatusBadRequest)
	_, err = ep.StepJSON(ctx, nil)
	guestErr(t, err, abi.StatusBadRequest)
	say(t, "b", 2)
	_, err = ep.Step(ctx, call("c", "say", fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", 2000))))
	if !errors.Is(err, trt.ErrRequestTooLarge) {
		t.Fatalf("oversized action: %v, want ErrRequestTooLarge", err)
	}
	say(t, "c", 3)
	if res, err := ep.Step(ctx, answer("a b c")); err != nil || !res.Done {
		t.Fatalf("final answer: %+v, %v", res, err)
	}
	_, err = ep.Step(ctx, answer("again"))
	guestErr(t, err, abi.StatusBadState)
	s, err := ep.Score(ctx)
	if err != nil || s.Reward != 1 {
		t.Fatalf("score after a refused step: %+v, %v; want reward 1", s, err)
	}
	// Closed by the caller: every call says so.
	ep.Close(ctx)
	if _, err := ep.Score(ctx); !errors.Is(err, trt.ErrClosed) {
		t.Fatalf("score after close: %v, want ErrClosed", err)
	}
	if err := ep.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
