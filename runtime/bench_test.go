package runtime

// Benchmarks of the sandbox's costs, each next to the floor it is judged
// against:
//
//	go test ./runtime -run '^$' -bench . -count 5
//
// Load/cold and Load/cached: compile the echo env (a Go guest, ~6 MB of
// wasm) and prepare it (instantiate, read the spec, warm up, snapshot),
// without and with the on-disk compilation cache.
// Instantiate: a bare guest instance (runs the Go runtime's and packages'
// initializers), created and closed: what starting an episode would cost
// without snapshots.
// Episode: what a new episode costs (Start, which takes an instance in the
// snapshot's state and calls terrarium_reset, then Close). echo-wasm
// recycles instances (the default); echo-wasm-fresh instantiates one per
// episode and restores it to the snapshot; the native floor is sdk.Native's
// Reset of the same env; guess-wat is the hand-written WAT env of
// docs/abi.md.
// ResetCall: terrarium_reset alone on a live instance.
// Step: one tool call round trip ("say" for echo); the native floor runs the
// same env code (internal/testenv) in-process with sdk.NewNative;
// guess-wat shows the host's own per-step cost with a guest that does
// almost nothing.

import (
	"context"
	"os"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/testenv"
	"github.com/terrarium-rl/terrarium/sdk"
)

func benchEnv(b testing.TB, cfg Config, wasm []byte) *Env {
	b.Helper()
	ctx := context.Background()
	h, err := New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(ctx) })
	env, err := h.Load(ctx, Source{Name: "bench.wasm", Wasm: wasm})
	if err != nil {
		b.Fatal(err)
	}
	return env
}

func guessWasm(b *testing.B) []byte {
	src, err := os.ReadFile("testdata/wat/guess.wat")
	if err != nil {
		b.Fatal(err)
	}
	return Wat2Wasm(b, string(src))
}

var sayHello = abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
	Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}

func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	wasm := EchoWasm(b)
	load := func(b *testing.B, cfg Config) {
		h, err := New(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		env, err := h.Load(ctx, Source{Name: "echo.wasm", Wasm: wasm})
		if err != nil {
			b.Fatal(err)
		}
		env.Close(ctx)
		h.Close(ctx)
	}
	b.Run("cold", func(b *testing.B) {
		cfg := NewConfig().WithCompilationCacheDir("")
		for b.Loop() {
			load(b, cfg)
		}
	})
	b.Run("cached", func(b *testing.B) {
		cfg := NewConfig().WithCompilationCacheDir(b.TempDir())
		load(b, cfg) // warm the cache
		for b.Loop() {
			load(b, cfg)
		}
	})
}

func BenchmarkInstantiate(b *testing.B) {
	ctx := context.Background()
	env := benchEnv(b, WithTestCache(NewConfig()), EchoWasm(b))
	for b.Loop() {
		in, err := env.instantiate(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		in.close(ctx)
	}
}

func BenchmarkEpisode(b *testing.B) {
	ctx := context.Background()
	b.Run("echo-wasm", func(b *testing.B) {
		env := benchEnv(b, WithTestCache(NewConfig()), EchoWasm(b))
		for b.Loop() {
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			ep.Close(ctx)
		}
	})
	b.Run("echo-wasm-fresh", func(b *testing.B) {
		env := benchEnv(b, WithTestCache(NewConfig().WithInstanceReuse(false)), EchoWasm(b))
		for b.Loop() {
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			ep.Close(ctx)
		}
	})
	b.Run("echo-native", func(b *testing.B) {
		n := sdk.NewNative(testenv.New)
		for b.Loop() {
			if _, err := n.Reset(1, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("guess-wat", func(b *testing.B) {
		env := benchEnv(b, WithTestCache(NewConfig()), guessWasm(b))
		for b.Loop() {
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			ep.Close(ctx)
		}
	})
}

func BenchmarkResetCall(b *testing.B) {
	ctx := context.Background()
	env := benchEnv(b, WithTestCache(NewConfig()), EchoWasm(b))
	in, err := env.instantiate(ctx, true)
	if err != nil {
		b.Fatal(err)
	}
	defer in.close(ctx)
	for b.Loop() {
		if _, err := in.request(ctx, "reset", in.fns.reset, nil, 1, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	for _, m := range restoreModes[:2] {
		b.Run("echo-wasm-"+m.name, func(b *testing.B) {
			env := benchEnv(b, WithTestCache(NewConfig()), EchoWasm(b))
			setRestoreMode(b, env, m.noCOW, m.noTrack)
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer ep.Close(ctx)
			for b.Loop() {
				if _, err := ep.Step(ctx, sayHello); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("echo-native", func(b *testing.B) {
		n := sdk.NewNative(testenv.New)
		if _, err := n.Reset(1, 0); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := n.Step(sayHello); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("guess-wat", func(b *testing.B) {
		env := benchEnv(b, WithTestCache(NewConfig()), guessWasm(b))
		ep, _, err := env.Start(ctx, 1, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer ep.Close(ctx)
		guess := abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
			Function: abi.FunctionCall{Name: "guess", Arguments: `{"n":50}`}}}}
		for b.Loop() {
			if _, err := ep.Step(ctx, guess); err != nil {
				b.Fatal(err)
			}
		}
	})
}
