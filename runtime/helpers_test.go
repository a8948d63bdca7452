package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

func echoWasm(tb testing.TB) []byte { tb.Helper(); return trt.EchoWasm(tb) }

// newHost makes a host that is closed at the end of the test, with the test
// binary's own compilation cache.
func newHost(tb testing.TB, cfg trt.Config) *trt.Host {
	tb.Helper()
	ctx := context.Background()
	h, err := trt.New(ctx, trt.WithTestCache(cfg))
	if err != nil {
		tb.Fatalf("new host: %v", err)
	}
	tb.Cleanup(func() { h.Close(ctx) })
	return h
}

// patientConfig is for tests that do not test the step timeout: the
// timeout is wall-clock, and a loaded machine (or the race detector) can make
// a Go guest's instantiation take seconds.
func patientConfig() trt.Config { return trt.NewConfig().WithStepTimeout(2 * time.Minute) }

// loadEcho loads the echo env into h.
func loadEcho(tb testing.TB, h *trt.Host) *trt.Env {
	tb.Helper()
	env, err := h.Load(context.Background(), trt.Source{Name: "echo.wasm", Wasm: echoWasm(tb)})
	if err != nil {
		tb.Fatalf("load echo: %v", err)
	}
	return env
}

// call builds an assistant action with one tool call.
func call(id, name, args string) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{
		ID: id, Type: "function", Function: abi.FunctionCall{Name: name, Arguments: args},
	}}}
}

// answer builds a final-answer action.
func answer(content string) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, Content: content}
}

// toolJSON decodes the content of a step's single tool message.
func toolJSON(res *abi.StepResult, v any) error {
	if len(res.Messages) != 1 {
		return fmt.Errorf("got %d tool messages, want 1", len(res.Messages))
	}
	if err := json.Unmarshal([]byte(res.Messages[0].Content), v); err != nil {
		return fmt.Errorf("tool content %q: %w", res.Messages[0].Content, err)
	}
	return nil
}
