package sdk_test

import (
	"encoding/json"

	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// fourProps offers one tool whose schema has four checked properties.
type fourProps struct{}

func (fourProps) Spec() abi.Spec { return abi.Spec{Name: "four", Version: "1.0.0", Tasks: 1} }

func (fourProps) Reset(*sdk.Episode) (*sdk.Start, error) {
	return &sdk.Start{Tools: []*sdk.Tool{{Name: "t",
		Schema:  []byte(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"enum":["x"]},"c":{"type":"string"},"d":{"type":"boolean"}}}`),
		Handler: func(*sdk.Episode, json.RawMessage) (any, error) { return "ok", nil }}}}, nil
}

func (fourProps) Score(*sdk.Episode) (abi.Score, error) { return abi.Score{}, nil }

// TestSchemaErrorOrder checks that a call failing several property checks
// gets one message whatever order the validator visits the properties in
// (it ranges over a Go map, whose order varies between runs natively and
// between modules in the sandbox).
func TestSchemaErrorOrder(t *testing.T) {
	n := sdk.NewNative(func() sdk.Env { return fourProps{} })
	if _, err := n.Reset(1, 0); err != nil {
		t.Fatal(err)
	}
	call := abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
		Function: abi.FunctionCall{Name: "t", Arguments: `{"d":1,"c":2,"b":"y","a":"z"}`}}}}
	const want = `{"error":"invalid arguments: at '/a': got string, want integer; at '/b': value must be 'x'; ` +
		`at '/c': got number, want string; at '/d': got number, want boolean"}`
	for i := 0; i < 50; i++ {
		res, err := n.Step(call)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Messages[0].Content; got != want {
			t.Fatalf("call %d: %s, want %s", i, got, want)
		}
	}
}
