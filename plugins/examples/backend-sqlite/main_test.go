//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	"github.com/terrarium-rl/terrarium/plugins"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

// setup builds this plugin and envs/warehouse, starts the plugin and loads
// the env.
func setup(t *testing.T) (*plugins.Client, *trt.Env) {
	t.Helper()
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "backend-sqlite")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	wasmPath, err := gobuild.Build(ctx, "../../../envs/warehouse")
	if err != nil {
		t.Fatalf("build envs/warehouse: %v", err)
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	h, err := trt.New(ctx, trt.NewConfig().WithCompilationCacheDir(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	env, err := h.Load(ctx, trt.Source{Name: "warehouse.wasm", Wasm: wasm})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c, err := plugins.Start(ctx, plugins.Config{Path: bin, Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, env
}

type script []abi.Message

func (s script) Name() string { return "script" }
func (s script) Start(context.Context, trainer.EpisodeInfo) (trainer.Agent, error) {
	i := 0
	return trainer.AgentFunc(func(context.Context, []abi.Message) (abi.Message, error) {
		i++
		return s[min(i, len(s))-1], nil
	}), nil
}

func toolCall(name string, args map[string]string) abi.Message {
	b, _ := json.Marshal(args)
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c1", Type: "function",
		Function: abi.FunctionCall{Name: name, Arguments: string(b)}}}}
}

// TestReplayWithoutBackend is the acceptance test: episodes played
// against the real SQLite plugin replay bit for bit once the plugin is gone.
func TestReplayWithoutBackend(t *testing.T) {
	ctx := context.Background()
	c, env := setup(t)
	be, err := c.Backend()
	if err != nil {
		t.Fatal(err)
	}
	run := func(pol trainer.Policy, episodes int) []*trainer.Trajectory {
		var buf bytes.Buffer
		w := trainer.NewWriter(&buf)
		_, err := trainer.Rollout(ctx, env, pol, trainer.Options{Episodes: episodes, Seed: 11, Concurrency: 3,
			Start: []trt.StartOption{trt.WithBackend("sqlite", be)}}, w.Write)
		if err != nil {
			t.Fatalf("rollout: %v", err)
		}
		w.Flush()
		recs, err := trainer.ReadAll(&buf, "rollout")
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	oracle := run(trainer.OraclePolicy(), 6)
	for _, r := range oracle {
		if r.Reward != 1 || r.Termination.Reason != trainer.ReasonDone {
			t.Fatalf("episode %d: reward %v, termination %+v; the oracle should solve every task from the live database", r.Episode, r.Reward, r.Termination)
		}
		// reset: the product list and the gold answer; turn 1: the oracle's query.
		if n := len(r.BackendCalls); n != 3 {
			t.Fatalf("episode %d recorded %d backend calls, want 3", r.Episode, n)
		}
	}
	// A refused query reaches the agent as a tool error and is recorded.
	bad := run(script{toolCall("query", map[string]string{"sql": "DELETE FROM stock"}), toolCall("answer", map[string]string{"answer": "0"})}, 1)[0]
	last := bad.BackendCalls[len(bad.BackendCalls)-1]
	if last.Status != abi.StatusBadRequest || !strings.Contains(last.Error, "readonly") && !strings.Contains(last.Error, "read-only") && !strings.Contains(last.Error, "query_only") {
		t.Fatalf("a write was answered %+v, want a refusal", last)
	}
	if !strings.Contains(bad.Messages[3].Content, last.Error) {
		t.Fatalf("the agent saw %q, not the refusal", bad.Messages[3].Content)
	}

	// The plugin dies the hard way.
	pid, err := strconv.Atoi(c.PID())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for !c.Exited() {
		time.Sleep(10 * time.Millisecond)
	}
	for _, r := range append(oracle, bad) {
		if err := trainer.Replay(ctx, env, r); err != nil {
			t.Fatalf("replay without the backend: %v", err)
		}
	}
	// With the plugin gone, a live episode fails with a backend fault that
	// says why, and only that episode.
	dead := run(trainer.OraclePolicy(), 1)[0]
	if f := dead.Termination.Fault; f == nil || f.Kind != string(trt.FaultBackend) || !strings.Contains(f.Message, "unavailable") {
		t.Fatalf("an episode after the plugin died ended with %+v, want a backend fault", f)
	}
}
