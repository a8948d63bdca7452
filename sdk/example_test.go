package sdk_test

import (
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// counter is the smallest useful environment: bring a counter to 3.
type counter struct{ n int }

func (*counter) Spec() abi.Spec {
	return abi.Spec{Name: "counter", Version: "1.0.0", Description: "Count to three.", Tasks: 1}
}

func (c *counter) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	inc := sdk.NewTool("increment", "Add one to the counter.", `{"type":"object","properties":{}}`,
		func(ep *sdk.Episode, _ struct{}) (any, error) { c.n++; return map[string]int{"value": c.n}, nil })
	return &sdk.Start{
		Messages: []abi.Message{{Role: abi.RoleUser, Content: "Increment the counter to 3, then say done."}},
		Tools:    []*sdk.Tool{inc},
	}, nil
}

func (c *counter) Score(ep *sdk.Episode) (abi.Score, error) {
	if c.n == 3 {
		return abi.Score{Reward: 1}, nil
	}
	return abi.Score{}, nil
}

// An environment runs natively with NewNative, for unit tests: the same
// request handling as in the sandbox, without WebAssembly. In a module, the
// env registers itself instead: func init() { sdk.Register(...) }.
func ExampleNewNative() {
	n := sdk.NewNative(func() sdk.Env { return new(counter) })
	obs, _ := n.Reset(1, 0)
	fmt.Println(obs.Messages[0].Content)
	inc := abi.ToolCall{ID: "c1", Type: "function", Function: abi.FunctionCall{Name: "increment", Arguments: "{}"}}
	for i := 0; i < 3; i++ {
		res, _ := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{inc}})
		fmt.Println(res.Messages[0].Content)
	}
	// A call with bad arguments is a tool error the agent reads, not a failure.
	bad := inc
	bad.Function.Arguments = `{"by": "two"`
	res, _ := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{bad}})
	fmt.Println(res.Messages[0].Content)
	n.Step(abi.Message{Role: abi.RoleAssistant, Content: "done"})
	score, _ := n.Score()
	fmt.Println("reward", score.Reward)
	// Output:
	// Increment the counter to 3, then say done.
	// {"value":1}
	// {"value":2}
	// {"value":3}
	// {"error":"arguments are not valid JSON: unexpected EOF"}
	// reward 1
}
