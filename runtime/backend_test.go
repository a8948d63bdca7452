package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// kv is a Backend over a map: "hello" greets, "get" looks a key up, the
// key "boom" fails the way a crashed plugin does.
type kv map[string]string

func (m kv) Call(ctx context.Context, op string, req []byte) ([]byte, error) {
	switch {
	case op == "hello":
		return []byte("hello from kv"), nil
	case op == "get" && string(req) == "boom":
		return nil, errors.New("connection reset")
	case op == "get" && string(req) == "big":
		// Larger than the Go SDK's first buffer, so that it asks again.
		return []byte(strings.Repeat("0123456789", 10_000)), nil
	case op == "get":
		v, ok := m[string(req)]
		if !ok {
			return nil, &trt.BackendError{Message: fmt.Sprintf("no key %q", req)}
		}
		return []byte(v), nil
	}
	return nil, &trt.BackendError{Message: "unknown op " + op}
}

func loadBackendEnv(t *testing.T) *trt.Env {
	t.Helper()
	h := newHost(t, patientConfig())
	env, err := h.Load(context.Background(), trt.Source{Name: "backend.wasm", Wasm: trt.BackendWasm(t)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return env
}

func getCall(key, backend string) abi.Message {
	args, _ := json.Marshal(map[string]string{"key": key, "backend": backend})
	return call("c1", "get", string(args))
}

func TestBackendCalls(t *testing.T) {
	ctx := context.Background()
	env := loadBackendEnv(t)
	ep, obs, err := env.Start(ctx, 1, 0, trt.WithBackend("kv", kv{"a": "apple"}))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer ep.Close(ctx)
	if got := obs.Messages[0].Content; got != "hello from kv" {
		t.Fatalf("reset saw %q, want the backend's greeting", got)
	}
	steps := []struct {
		name, key, backend string
		want               map[string]any
	}{
		{"answer", "a", "", map[string]any{"value": "apple"}},
		{"large answer", "big", "", map[string]any{"value": strings.Repeat("0123456789", 10_000)}},
		{"refusal", "zz", "", map[string]any{"status": float64(abi.StatusBadRequest), "error": `no key "zz"`}},
		{"not granted", "a", "db", map[string]any{"status": float64(abi.StatusUnsupported), "error": `backend "db" is not available to this episode`}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			res, err := ep.Step(ctx, getCall(s.key, s.backend))
			if err != nil {
				t.Fatalf("step: %v", err)
			}
			var got map[string]any
			if err := toolJSON(res, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Fatalf("tool said %v, want %v", got, s.want)
			}
		})
	}
	want := []trt.BackendCall{
		{Turn: 0, Backend: "kv", Op: "hello", Request: []byte{}, Response: []byte("hello from kv")},
		{Turn: 1, Backend: "kv", Op: "get", Request: []byte("a"), Response: []byte("apple")},
		{Turn: 2, Backend: "kv", Op: "get", Request: []byte("big"), Response: []byte(strings.Repeat("0123456789", 10_000))},
		{Turn: 3, Backend: "kv", Op: "get", Request: []byte("zz"), Status: abi.StatusBadRequest, Err: `no key "zz"`},
		{Turn: 4, Backend: "db", Op: "get", Request: []byte("a"), Status: abi.StatusUnsupported, Err: `backend "db" is not available to this episode`},
	}
	if got := ep.BackendCalls(); !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("recorded calls:\n%+v\nwant:\n%+v", got, want)
	}
	_, err = ep.Step(ctx, getCall("boom", ""))
	var f *trt.Fault
	if !errors.As(err, &f) || f.Kind != trt.FaultBackend || !strings.Contains(f.Reason, "connection reset") {
		t.Fatalf("a failing backend gave %v, want a backend fault naming the cause", err)
	}
	calls := ep.BackendCalls()
	if last := calls[len(calls)-1]; !last.Fault || last.Turn != 5 || last.Err != "connection reset" {
		t.Fatalf("the failed call was recorded as %+v", last)
	}
}

// normalize treats nil and empty byte slices alike.
func normalize(cs []trt.BackendCall) []trt.BackendCall {
	out := make([]trt.BackendCall, len(cs))
	for i, c := range cs {
		c.Request, c.Response = append([]byte{}, c.Request...), append([]byte{}, c.Response...)
		out[i] = c
	}
	return out
}

func TestBackendNotGranted(t *testing.T) {
	ctx := context.Background()
	env := loadBackendEnv(t)
	// The first episode is granted kv; the next, on a recycled instance,
	// must not inherit it.
	for i, opts := range [][]trt.StartOption{{trt.WithBackend("kv", kv{})}, nil} {
		ep, obs, err := env.Start(ctx, 1, 0, opts...)
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		granted := obs.Messages[0].Content == "hello from kv"
		if granted != (opts != nil) {
			t.Fatalf("episode %d: reset saw %q", i, obs.Messages[0].Content)
		}
		if !granted && !strings.Contains(obs.Messages[0].Content, `backend "kv" is not available`) {
			t.Fatalf("episode %d: reset saw %q, want the unsupported error", i, obs.Messages[0].Content)
		}
		if n := len(ep.BackendCalls()); n != 1 {
			t.Fatalf("episode %d recorded %d calls, want 1", i, n)
		}
		ep.Close(ctx)
	}
}

func TestBackendFork(t *testing.T) {
	ctx := context.Background()
	env := loadBackendEnv(t)
	ep, _, err := env.Start(ctx, 1, 0, trt.WithBackend("kv", kv{"a": "apple"}))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer ep.Close(ctx)
	fork, err := ep.Fork(ctx)
	if errors.Is(err, trt.ErrForkUnsupported) {
		t.Fatalf("the backend env should support snapshots: %v", err)
	}
	if err != nil {
		t.Fatalf("fork: %v", err)
	}
	defer fork.Close(ctx)
	if _, err := fork.Step(ctx, getCall("a", "")); err != nil {
		t.Fatalf("step the fork: %v", err)
	}
	if n, m := len(ep.BackendCalls()), len(fork.BackendCalls()); n != 1 || m != 2 {
		t.Fatalf("parent has %d calls, fork %d; want 1 and 2 (the fork keeps the backends and the record)", n, m)
	}
}

func TestBackendMustBeDeclared(t *testing.T) {
	env := loadBackendEnv(t)
	_, _, err := env.Start(context.Background(), 1, 0, trt.WithBackend("db", kv{}))
	if !errors.Is(err, trt.ErrBackendNotDeclared) {
		t.Fatalf("granting an undeclared backend: %v, want ErrBackendNotDeclared", err)
	}
}
