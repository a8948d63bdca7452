package main

import (
	"os"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
)

// BenchmarkNative runs the JavaScript echo env of internal/jsenv's
// benchmarks in goja without WebAssembly: the floor of its Start and Step.
//
//	go test ./envs/jsrunner -run '^$' -bench Native -count 5
func BenchmarkNative(b *testing.B) {
	src, err := os.ReadFile("../../internal/jsenv/testdata/echo.js")
	if err != nil {
		b.Fatal(err)
	}
	say := abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
		Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}
	b.Run("configure", func(b *testing.B) {
		for b.Loop() {
			if err := configure(src); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A reset in a runtime made for it: what an episode's reset costs when
	// no prepared runtime is left.
	b.Run("reset-new-runtime", func(b *testing.B) {
		n := load(b, string(src))
		for b.Loop() {
			if _, err := n.Reset(1, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("step", func(b *testing.B) {
		n := load(b, string(src))
		reset(b, n, 1, 0)
		for b.Loop() {
			if _, err := n.Step(say); err != nil {
				b.Fatal(err)
			}
		}
	})
}
