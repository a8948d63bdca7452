// Package testenv holds the echo environment used by the runtime's tests and
// benchmarks: one tool that echoes its argument, tools that report what the
// sandbox shows the guest (clock, randomness), and tools that misbehave on
// purpose (loop, allocate, recurse, panic, flood output, exit) to exercise
// fault handling.
//
// It is a package rather than code in runtime/testdata/echo (which only
// registers it) so that benchmarks can run the very same code natively with
// sdk.NewNative as the floor that sandboxed runs are measured against.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// New returns a fresh echo environment, one per episode.
func New() sdk.Env { return new(echo) }

type echo struct{ said []string }

func (*echo) Spec() abi.Spec {
	return abi.Spec{Name: "echo", Version: "0.1.0", Description: "echoes; misbehaves on request", Tasks: 4}
}

// sink keeps allocations reachable so that the alloc tool really exhausts
// memory.
var sink [][]byte

func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	return recurse(n+1) + int(pad[0])
}

const noArgs = `{"type":"object","properties":{}}`

func (e *echo) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	return &sdk.Start{
		// The clock reading and the random number make the observation a
		// probe of the sandbox's determinism.
		Messages: []abi.Message{{Role: abi.RoleUser, Content: fmt.Sprintf("task %d, lucky number %d, time %d",
			ep.Task, ep.Rand.IntN(1000), time.Now().UnixNano())}},
		Tools: []*sdk.Tool{
			sdk.NewTool("say", "Say something.", `{"type":"object","properties":{"text":{"type":"string","maxLength":100}},"required":["text"]}`,
				func(ep *sdk.Episode, a struct{ Text string }) (any, error) {
					e.said = append(e.said, a.Text)
					return map[string]any{"echo": a.Text, "n": len(e.said)}, nil
				}),
			sdk.NewTool("entropy", "Reports the clock and 16 bytes of crypto/rand.", noArgs,
				func(ep *sdk.Episode, a struct{}) (any, error) {
					b := make([]byte, 16)
					if _, err := rand.Read(b); err != nil {
						return nil, err
					}
					return map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "random": hex.EncodeToString(b)}, nil
				}),
			sdk.NewTool("sleep", "Sleeps for a duration and reports the clock before and after.",
				`{"type":"object","properties":{"duration":{"type":"string"}},"required":["duration"]}`,
				func(ep *sdk.Episode, a struct{ Duration string }) (any, error) {
					d, err := time.ParseDuration(a.Duration)
					if err != nil {
						return nil, err
					}
					t0 := time.Now()
					time.Sleep(d)
					t1 := time.Now()
					return map[string]any{"before": t0.UTC().Format(time.RFC3339Nano), "after": t1.UTC().Format(time.RFC3339Nano)}, nil
				}),
			sdk.NewTool("loop", "Never returns.", noArgs, func(ep *sdk.Episode, a struct{}) (any, error) {
				for i := 0; ; i++ {
					if i < 0 {
						return nil, nil
					}
				}
			}),
			sdk.NewTool("alloc", "Allocates without bound.", noArgs, func(ep *sdk.Episode, a struct{}) (any, error) {
				for {
					sink = append(sink, make([]byte, 1<<20))
				}
			}),
			sdk.NewTool("recurse", "Recurses without bound.", noArgs, func(ep *sdk.Episode, a struct{}) (any, error) {
				return recurse(0), nil
			}),
			sdk.NewTool("panic", "Panics.", noArgs, func(ep *sdk.Episode, a struct{}) (any, error) {
				var m map[string]int
				m["boom"]++
				return nil, nil
			}),
			sdk.NewTool("flood", "Floods stderr.", noArgs, func(ep *sdk.Episode, a struct{}) (any, error) {
				line := strings.Repeat("x", 1000) + "\n"
				for {
					fmt.Fprint(os.Stderr, line)
				}
			}),
			sdk.NewTool("exit", "Exits the process.", noArgs, func(ep *sdk.Episode, a struct{}) (any, error) {
				os.Exit(3)
				return nil, nil
			}),
		},
	}, nil
}

// Score gives reward 1 when the final answer is everything said, in order.
func (e *echo) Score(ep *sdk.Episode) (abi.Score, error) {
	r := 0.0
	if ans, ok := ep.FinalAnswer(); ok && ans == strings.Join(e.said, " ") && len(e.said) > 0 {
		r = 1
	}
	return abi.Score{Reward: r, Components: map[string]float64{"said": float64(len(e.said))}}, nil
}

// Oracle says "hello" once, then answers with everything said.
func (e *echo) Oracle(ep *sdk.Episode) (abi.Message, error) {
	if len(e.said) == 0 {
		return abi.Message{ToolCalls: []abi.ToolCall{{ID: "call_0", Type: "function",
			Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}, nil
	}
	return abi.Message{Content: strings.Join(e.said, " ")}, nil
}
