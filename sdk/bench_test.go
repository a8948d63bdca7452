package sdk_test

import (
	"encoding/json"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/testenv"
	"github.com/terrarium-rl/terrarium/sdk"
)

// BenchmarkStep runs the echo env's say call natively: the SDK's step path
// (decode the action, validate the arguments, call the tool, encode the
// reply). raw passes the action's bytes as a host does; native also encodes
// the action and decodes the reply, as bench's step/native figure.
func BenchmarkStep(b *testing.B) {
	say := abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "call_1", Type: "function",
		Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}
	raw, err := json.Marshal(say)
	if err != nil {
		b.Fatal(err)
	}
	// restart starts a new episode every 500 steps, so that what echo keeps
	// (everything said) stays bounded.
	restart := func(b *testing.B, n *sdk.Native, i int) {
		if i%500 == 0 {
			if _, err := n.Reset(uint64(i), 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		n := sdk.NewNative(testenv.New)
		i := 0
		for b.Loop() {
			restart(b, n, i)
			i++
			if st, out := n.StepRaw(raw); st != abi.StatusOK {
				b.Fatalf("step: %s %s", st, out)
			}
		}
	})
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		n := sdk.NewNative(testenv.New)
		i := 0
		for b.Loop() {
			restart(b, n, i)
			i++
			if _, err := n.Step(say); err != nil {
				b.Fatal(err)
			}
		}
	})
}
