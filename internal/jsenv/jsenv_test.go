package jsenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/envload"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/sdk/envtest"
)

const inventoryDir = "../../envs/js-inventory"

// cacheDir is a compilation cache private to this test binary: compiling
// the runner takes seconds, and tests must not depend on earlier runs.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "terrarium-jsenv-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newHost(tb testing.TB, cfg trt.Config) *trt.Host {
	tb.Helper()
	ctx := context.Background()
	h, err := trt.New(ctx, cfg.WithCompilationCacheDir(cacheDir))
	if err != nil {
		tb.Fatalf("new host: %v", err)
	}
	tb.Cleanup(func() { h.Close(ctx) })
	return h
}

// loadPath loads a JavaScript env the way the CLI does, through envload.
func loadPath(tb testing.TB, h *trt.Host, path string) *trt.Env {
	tb.Helper()
	env, err := envload.Load(context.Background(), h, path)
	if err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	return env
}

func call(name, args string) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{
		ID: "c1", Type: "function", Function: abi.FunctionCall{Name: name, Arguments: args}}}}
}

// transcript runs one episode, driven by the oracle or (null) by an
// immediate empty answer, and returns every byte the env produced and the
// reward.
func transcript(tb testing.TB, env *trt.Env, seed uint64, task int, oracle bool) ([]byte, float64) {
	tb.Helper()
	ctx := context.Background()
	ep, obs, err := env.Start(ctx, seed, task)
	if err != nil {
		tb.Fatalf("start seed %d task %d: %v", seed, task, err)
	}
	defer ep.Close(ctx)
	var out bytes.Buffer
	write := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	write(obs)
	for turn := 0; !ep.Done(); turn++ {
		if turn == env.Spec().MaxTurns {
			tb.Fatalf("seed %d task %d: not done after %d turns:\n%s", seed, task, turn, out.Bytes())
		}
		action := &abi.Message{Role: abi.RoleAssistant}
		if oracle {
			if action, err = ep.Oracle(ctx); err != nil {
				tb.Fatalf("oracle: %v", err)
			}
		}
		write(action)
		res, err := ep.Step(ctx, *action)
		if err != nil {
			tb.Fatalf("step: %v", err)
		}
		write(res)
	}
	s, err := ep.Score(ctx)
	if err != nil {
		tb.Fatalf("score: %v", err)
	}
	write(s)
	return out.Bytes(), s.Reward
}

func TestInventory(t *testing.T) {
	h := newHost(t, trt.NewConfig())
	env := loadPath(t, h, inventoryDir)
	if got := env.Spec().Name; got != "js-inventory" {
		t.Fatalf("spec name %q", got)
	}
	for task := range env.Spec().Tasks {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("task%d/seed%d", task, seed), func(t *testing.T) {
				first, reward := transcript(t, env, seed, task, true)
				if reward != 1 {
					t.Fatalf("oracle scored %v, want 1:\n%s", reward, first)
				}
				again, _ := transcript(t, env, seed, task, true)
				if !bytes.Equal(first, again) {
					t.Fatalf("same seed, different bytes:\n%s\n---\n%s", first, again)
				}
				if null, reward := transcript(t, env, seed, task, false); reward != 0 {
					t.Fatalf("null policy scored %v, want 0:\n%s", reward, null)
				}
				other, _ := transcript(t, env, seed+100, task, true)
				if bytes.Equal(first, other) {
					t.Fatalf("seeds %d and %d gave the same episode", seed, seed+100)
				}
			})
		}
	}
}

// TestInventoryConformance runs the checks of terrarium env test.
func TestInventoryConformance(t *testing.T) {
	h := newHost(t, trt.NewConfig())
	rep, err := envtest.Check(context.Background(), inventoryDir, envtest.Options{Tasks: 3, Host: h})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	if !rep.OK() {
		t.Fatalf("conformance check failed:\n%s", buf.String())
	}
}

// TestInventoryClockAndRandom checks that the virtual Date and the seeded
// Math.random reach the agent: the shipping date is two virtual days after
// the epoch, whatever the machine's clock says.
func TestInventoryClockAndRandom(t *testing.T) {
	h := newHost(t, trt.NewConfig())
	env := loadPath(t, h, inventoryDir)
	ctx := context.Background()
	ep, _, err := env.Start(ctx, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	for !ep.Done() {
		action, err := ep.Oracle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ep.Step(ctx, *action)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			if m.Name != "ship_order" {
				continue
			}
			var got struct {
				ShipsOn string `json:"ships_on"`
			}
			if err := json.Unmarshal([]byte(m.Content), &got); err != nil || got.ShipsOn != "2025-01-03" {
				t.Fatalf("ship_order said %s, want ships_on 2025-01-03", m.Content)
			}
		}
	}
}

// faultCase is one misbehaving tool of testdata/faults.js and the outcome
// docs/js-env.md promises for it.
type faultCase struct {
	tool string
	kind trt.FaultKind // "" when the call must be a tool error
	want string        // in the fault's reason or the tool error
	// unmetered runs the case with fuel off, where the wall-clock timeout
	// and the memory limit are what stop a guest.
	unmetered bool
}

func TestFaults(t *testing.T) {
	// Outcomes must not depend on the machine's speed: only the endless
	// loop meets the short step timeout; the other cases end within seconds
	// and get a generous one. The small memory limit (40 MiB, the runner
	// needs about 18) keeps the allocation cases quick.
	mem := trt.NewConfig().WithMemoryLimitPages(640).WithStepTimeout(time.Minute)
	env := loadPath(t, newHost(t, mem), "testdata/faults.js")
	quick := loadPath(t, newHost(t, mem.WithFuelPerStep(0).WithStepTimeout(time.Second)), "testdata/faults.js")
	unmetered := loadPath(t, newHost(t, mem.WithFuelPerStep(0)), "testdata/faults.js")
	ctx := context.Background()
	for _, tt := range []faultCase{
		{"throw", "", "thrown on purpose", false},
		{"bug", "", "TypeError: Cannot read property 'field' of undefined", false},
		{"recurse", trt.FaultEnv, "JavaScript call stack exceeded 500 frames", false},
		{"recurse_native", trt.FaultEnv, "JavaScript call stack exceeded 500 frames", false},
		{"loop", trt.FaultBudget, "compute budget of 1000000000 exhausted", false},
		{"loop", trt.FaultTimeout, "did not finish within 1s", true},
		{"alloc", trt.FaultMemory, "memory limit of 640 pages", false},
		{"alloc_objects", trt.FaultBudget, "compute budget of 1000000000 exhausted", false},
		{"alloc_objects", trt.FaultMemory, "memory limit of 640 pages", true},
		{"big_string", trt.FaultMemory, "memory limit of 640 pages", false},
		{"flood", trt.FaultOutput, "output", false},
	} {
		t.Run(tt.tool, func(t *testing.T) {
			env := env
			switch {
			case tt.kind == trt.FaultTimeout:
				env = quick
			case tt.unmetered:
				env = unmetered
			}
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close(ctx)
			t0 := time.Now()
			res, err := ep.Step(ctx, call(tt.tool, "{}"))
			t.Logf("%s took %v", tt.tool, time.Since(t0))
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("step: %v, want a tool error", err)
				}
				var te abi.Error
				if len(res.Messages) != 1 || json.Unmarshal([]byte(res.Messages[0].Content), &te) != nil || !strings.Contains(te.Error, tt.want) {
					t.Fatalf("step result %+v, want a tool error containing %q", res, tt.want)
				}
				// The episode goes on.
				if res, err := ep.Step(ctx, call("ok", "{}")); err != nil || res.Messages[0].Content != "fine" {
					t.Fatalf("step after a tool error: %+v, %v", res, err)
				}
				return
			}
			var f *trt.Fault
			if !errors.As(err, &f) || f.Kind != tt.kind || !strings.Contains(f.Error(), tt.want) {
				t.Fatalf("step: %v, want a %s fault containing %q", err, tt.kind, tt.want)
			}
			if _, err := ep.Step(ctx, call("ok", "{}")); !errors.Is(err, trt.ErrClosed) {
				t.Fatalf("step after a fault: %v, want ErrClosed", err)
			}
		})
	}
	t.Run("loop/metered", func(t *testing.T) {
		// With a compute budget the endless loop ends the same way on
		// every machine: a budget fault, long before the timeout.
		metered := loadPath(t, newHost(t, mem.WithFuelPerStep(1_000_000_000)), "testdata/faults.js")
		ep, _, err := metered.Start(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close(ctx)
		if res, err := ep.Step(ctx, call("ok", "{}")); err != nil || res.Messages[0].Content != "fine" {
			t.Fatalf("a cheap call under the budget: %+v, %v", res, err)
		}
		_, err = ep.Step(ctx, call("loop", "{}"))
		var f *trt.Fault
		if !errors.As(err, &f) || f.Kind != trt.FaultBudget {
			t.Fatalf("step: %v, want a budget fault", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		_, _, err := env.Start(ctx, 1, 1)
		var f *trt.Fault
		if !errors.As(err, &f) || f.Kind != trt.FaultEnv || !strings.Contains(f.Reason, "reset refuses task 1") {
			t.Fatalf("start: %v, want an env fault from reset", err)
		}
	})
	t.Run("score", func(t *testing.T) {
		ep, _, err := env.Start(ctx, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close(ctx)
		_, err = ep.Score(ctx)
		var f *trt.Fault
		if !errors.As(err, &f) || f.Kind != trt.FaultEnv || !strings.Contains(f.Reason, "score refuses task 2") {
			t.Fatalf("score: %v, want an env fault from score", err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	h := newHost(t, trt.NewConfig())
	ctx := context.Background()
	for _, tt := range []struct{ name, script, want string }{
		{"syntax", "const env = {", "env.js: Line 1:"},
		{"no env", "const x = 1;", "does not define env"},
		{"bad spec", `const env = {spec: {name: "", version: "1", tasks: 1}, reset() {}, score() {}};`, "name is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Load(ctx, jsenv.Source("bad.js", []byte(tt.script)))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "load bad.js: ") {
				t.Fatalf("load: %v, want an error about bad.js containing %q", err, tt.want)
			}
		})
	}
	if _, err := h.Load(ctx, trt.Source{Name: "runner.wasm", Wasm: jsenv.Runner()}); err == nil || !strings.Contains(err.Error(), "no environment script") {
		t.Fatalf("load of the runner without a script: %v", err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	script := []byte("const env = {};")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("jsdir/env.js", script)
	write("file.js", script)
	write("godir/main.go", []byte("package main"))
	write("both/env.js", script)
	write("both/main.go", []byte("package main"))
	write("tested/env.js", script)
	write("tested/env_test.go", []byte("package tested_test"))
	write("mod.wasm", []byte("\x00asm"))
	write("other/readme.txt", nil)
	tests := []struct {
		path    string
		claimed bool
		err     string
	}{
		{"jsdir", true, ""},
		{"jsdir/", true, ""},
		{"file.js", true, ""},
		{"missing.js", true, "no such file"},
		{"tested", true, ""},
		{"both", true, "both env.js and Go source files"},
		{"godir", false, ""},
		{"mod.wasm", false, ""},
		{"other", false, ""},
		{"missing-dir", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			path := filepath.Join(dir, tt.path)
			src, ok, err := jsenv.Resolve(context.Background(), path)
			if ok != tt.claimed || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Resolve(%s) = claimed %v, err %v; want claimed %v, err containing %q", tt.path, ok, err, tt.claimed, tt.err)
			}
			if ok && err == nil {
				if !bytes.Equal(src.Config, script) || !bytes.Equal(src.Wasm, jsenv.Runner()) || src.Name != filepath.Clean(path) {
					t.Fatalf("Resolve(%s) = %s, %d bytes of wasm, config %q", tt.path, src.Name, len(src.Wasm), src.Config)
				}
			}
		})
	}
}
