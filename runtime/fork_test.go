package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// continueWith steps acts on ep and returns the observed bytes and score.
func continueWith(t *testing.T, ep *trt.Episode, acts []abi.Message) string {
	t.Helper()
	ctx := context.Background()
	var out []byte
	for _, a := range acts {
		res, err := ep.Step(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		out = append(out, b...)
	}
	s, err := ep.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	return string(append(out, b...))
}

func TestForkMatchesFreshReplay(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, trt.NewConfig()))
	prefix := []abi.Message{call("a", "say", `{"text":"one"}`), call("b", "say", `{"text":"two"}`)}
	branches := [][]abi.Message{
		{call("c", "say", `{"text":"three"}`), answer("one two three")},
		{answer("one two")},
		{call("c", "entropy", `{}`), call("d", "say", `{"text":"x"}`), answer("nope")},
	}
	for seed := uint64(1); seed <= 5; seed++ {
		parent, _, err := env.Start(ctx, seed, int(seed%4))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range prefix {
			if _, err := parent.Step(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		forks := make([]*trt.Episode, len(branches))
		for i := range forks {
			if forks[i], err = parent.Fork(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i, br := range branches {
			fresh, _, err := env.Start(ctx, seed, int(seed%4))
			if err != nil {
				t.Fatal(err)
			}
			want := continueWith(t, fresh, append(append([]abi.Message(nil), prefix...), br...))
			got := continueWith(t, forks[i], br)
			// The fresh run includes the prefix's observations: compare
			// only what follows them.
			wantTail := want[len(want)-len(got):]
			if got != wantTail {
				t.Fatalf("seed %d branch %d: fork continued as\n%s\nfresh replay as\n%s", seed, i, got, want)
			}
			fresh.Close(ctx)
			forks[i].Close(ctx)
		}
		// The parent is unaffected by its forks.
		fresh, _, _ := env.Start(ctx, seed, int(seed%4))
		want := continueWith(t, fresh, append(append([]abi.Message(nil), prefix...), branches[0]...))
		if got := continueWith(t, parent, branches[0]); got != want[len(want)-len(got):] {
			t.Fatalf("seed %d: parent diverged after forking", seed)
		}
		fresh.Close(ctx)
		parent.Close(ctx)
	}
}

func TestForkClosed(t *testing.T) {
	ctx := context.Background()
	env := loadEcho(t, newHost(t, trt.NewConfig()))
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	ep.Close(ctx)
	if _, err := ep.Fork(ctx); !errors.Is(err, trt.ErrClosed) {
		t.Errorf("fork of a closed episode: %v, want ErrClosed", err)
	}
}
