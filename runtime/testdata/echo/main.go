// Command echo is a minimal SDK environment used by the runtime's tests:
// one tool that echoes its argument, plus tools that misbehave on purpose
// (loop, allocate, recurse, panic, flood output) to exercise fault handling.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

type echo struct{ said []string }

func (*echo) Spec() abi.Spec {
	return abi.Spec{Name: "echo", Version: "0.1.0", Description: "echoes; misbehaves on request", Tasks: 4}
}

var sink [][]byte

func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	return recurse(n+1) + int(pad[0])
}

func (e *echo) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	noArgs := `{"type":"object","properties":{}}`
	return &sdk.Start{
		Messages: []abi.Message{{Role: abi.RoleUser, Content: fmt.Sprintf("task %d, lucky number %d, time %d",
			ep.Task, ep.Rand.IntN(1000), time.Now().UnixNano())}},
		Tools: []*sdk.Tool{
			sdk.NewTool("say", "Say something.", `{"type":"object","properties":{"text":{"type":"string","maxLength":100}},"required":["text"]}`,
				func(ep *sdk.Episode, a struct{ Text string }) (any, error) {
					e.said = append(e.said, a.Text)
					return map[string]any{"echo": a.Text, "n": len(e.said)}, nil
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

func (e *echo) Score(ep *sdk.Episode) (abi.Score, error) {
	r := 0.0
	if ans, ok := ep.FinalAnswer(); ok && ans == strings.Join(e.said, " ") && len(e.said) > 0 {
		r = 1
	}
	return abi.Score{Reward: r, Components: map[string]float64{"said": float64(len(e.said))}}, nil
}

func (e *echo) Oracle(ep *sdk.Episode) (abi.Message, error) {
	if len(e.said) == 0 {
		return abi.Message{ToolCalls: []abi.ToolCall{{ID: "call_0", Type: "function",
			Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}, nil
	}
	return abi.Message{Content: strings.Join(e.said, " ")}, nil
}

func init() { sdk.Register(func() sdk.Env { return new(echo) }) }

func main() {}
