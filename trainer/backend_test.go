package trainer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

var backendEnv struct {
	once sync.Once
	env  *trt.Env
	err  error
}

// loadBackendEnv loads the runtime's backend test env: reset greets through
// backend "kv", the tool "get" forwards a key to "BACKEND/get".
func loadBackendEnv(tb testing.TB) *trt.Env {
	tb.Helper()
	backendEnv.once.Do(func() {
		ctx := context.Background()
		p, err := gobuild.Build(ctx, "../runtime/testdata/backend")
		if err != nil {
			backendEnv.err = err
			return
		}
		wasm, err := os.ReadFile(p)
		if err != nil {
			backendEnv.err = err
			return
		}
		h, err := trt.New(ctx, trt.NewConfig().WithCompilationCacheDir(""))
		if err != nil {
			backendEnv.err = err
			return
		}
		backendEnv.env, backendEnv.err = h.Load(ctx, trt.Source{Name: "backend.wasm", Wasm: wasm})
	})
	if backendEnv.err != nil {
		tb.Fatalf("load the backend env: %v", backendEnv.err)
	}
	return backendEnv.env
}

// kv is a live backend that counts its calls, so a test can tell that a
// replay never reached it.
type kv struct {
	m     map[string]string
	calls atomic.Int64
}

func (b *kv) Call(ctx context.Context, op string, req []byte) ([]byte, error) {
	b.calls.Add(1)
	switch {
	case op == "hello":
		return []byte("hello from kv"), nil
	case string(req) == "boom":
		return nil, errors.New("connection reset")
	}
	v, ok := b.m[string(req)]
	if !ok {
		return nil, &trt.BackendError{Message: fmt.Sprintf("no key %q", req)}
	}
	return []byte(v), nil
}

func get(key, backend string) abi.Message {
	b, _ := json.Marshal(map[string]string{"key": key, "backend": backend})
	return call("get", string(b))
}

// recordWithBackend rolls one episode out with a live kv and returns the
// record as read back from its JSON line.
func recordWithBackend(t *testing.T, b *kv, acts ...abi.Message) *trainer.Trajectory {
	t.Helper()
	env := loadBackendEnv(t)
	_, out, _ := rollout(t, env, scripted{"script", acts}, trainer.Options{Episodes: 1, Seed: 5, MaxTurns: len(acts),
		Start: []trt.StartOption{trt.WithBackend("kv", b)}})
	recs, err := trainer.ReadAll(bytes.NewReader(out), "rec")
	if err != nil {
		t.Fatal(err)
	}
	return recs[0]
}

func TestBackendRecordAndReplay(t *testing.T) {
	live := &kv{m: map[string]string{"a": "apple"}}
	rec := recordWithBackend(t, live, get("a", ""), get("zz", ""), get("a", "db"))
	want := []struct {
		turn   int
		name   string
		status abi.Status
	}{{0, "kv/hello", abi.StatusOK}, {1, "kv/get", abi.StatusOK}, {2, "kv/get", abi.StatusBadRequest}, {3, "db/get", abi.StatusUnsupported}}
	if len(rec.BackendCalls) != len(want) {
		t.Fatalf("recorded %d backend calls, want %d: %+v", len(rec.BackendCalls), len(want), rec.BackendCalls)
	}
	for i, w := range want {
		c := rec.BackendCalls[i]
		if c.Turn != w.turn || c.Backend+"/"+c.Op != w.name || c.Status != w.status {
			t.Errorf("call %d recorded as %+v, want turn %d %s status %d", i, c, w.turn, w.name, w.status)
		}
	}
	if string(rec.BackendCalls[1].Response) != "apple" {
		t.Errorf("call 1 response %q, want apple", rec.BackendCalls[1].Response)
	}
	before := live.calls.Load()
	if err := trainer.Replay(context.Background(), loadBackendEnv(t), rec); err != nil {
		t.Fatalf("replay with the backend absent: %v", err)
	}
	if live.calls.Load() != before {
		t.Fatal("the replay reached the live backend")
	}
}

func TestBackendReplayDetectsEdits(t *testing.T) {
	rec := recordWithBackend(t, &kv{m: map[string]string{"a": "apple"}}, get("a", ""), get("a", ""))
	tests := []struct {
		name string
		edit func(*trainer.Trajectory)
		what string
		turn int
	}{
		{"response", func(r *trainer.Trajectory) { r.BackendCalls[1].Response = []byte("apricot") }, "observation", 1},
		{"request", func(r *trainer.Trajectory) { r.BackendCalls[2].Request = []byte("b") }, "backend", 2},
		{"extra call", func(r *trainer.Trajectory) {
			r.BackendCalls = append(r.BackendCalls, trainer.BackendCall{Turn: 2, Backend: "kv", Op: "get", Request: []byte("a")})
		}, "backend", 2},
		{"missing call", func(r *trainer.Trajectory) { r.BackendCalls = r.BackendCalls[:2] }, "backend", -1},
		{"status", func(r *trainer.Trajectory) {
			r.BackendCalls[2].Status, r.BackendCalls[2].Error = abi.StatusBadRequest, "no"
		}, "observation", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := *rec
			r.BackendCalls = append([]trainer.BackendCall(nil), rec.BackendCalls...)
			tc.edit(&r)
			err := trainer.Replay(context.Background(), loadBackendEnv(t), &r)
			var d *trainer.Divergence
			if !errors.As(err, &d) {
				t.Fatalf("replay of an edited record: %v, want a divergence", err)
			}
			if d.What != tc.what || d.Turn != tc.turn {
				t.Errorf("divergence %q at turn %d, want %q at turn %d (%v)", d.What, d.Turn, tc.what, tc.turn, d)
			}
		})
	}
}

func TestBackendFaultReplays(t *testing.T) {
	rec := recordWithBackend(t, &kv{}, get("boom", ""))
	f := rec.Termination.Fault
	if f == nil || f.Kind != string(trt.FaultBackend) || f.Turn != 1 {
		t.Fatalf("termination %+v, want a backend fault in turn 1", rec.Termination)
	}
	if err := trainer.Replay(context.Background(), loadBackendEnv(t), rec); err != nil {
		t.Fatalf("replay of a backend fault: %v", err)
	}
}
