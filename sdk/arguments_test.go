package sdk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// argsEnv's tools check Episode.Arguments against their raw arguments;
// "quick" has a schema the SDK checks without decoding, "full" one it
// decodes to validate.
type argsEnv struct{ outside []map[string]any }

func (*argsEnv) Spec() abi.Spec { return abi.Spec{Name: "args", Version: "1.0.0", Tasks: 1} }

func (e *argsEnv) Reset(*sdk.Episode) (*sdk.Start, error) {
	check := func(ep *sdk.Episode, raw json.RawMessage) (any, error) {
		var want any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			return nil, err
		}
		got := ep.Arguments()
		if !reflect.DeepEqual(any(got), want) || !reflect.DeepEqual(ep.Arguments(), got) {
			return nil, fmt.Errorf("Arguments() = %#v, want %#v", got, want)
		}
		return "ok", nil
	}
	return &sdk.Start{Tools: []*sdk.Tool{
		{Name: "quick", Schema: []byte(`{"type":"object","properties":{"n":{"type":"number"}}}`), Handler: check},
		{Name: "full", Schema: []byte(`{"type":"object","properties":{"s":{"type":"string","pattern":"^a"}}}`), Handler: check},
	}}, nil
}

func (e *argsEnv) Score(ep *sdk.Episode) (abi.Score, error) {
	e.outside = append(e.outside, ep.Arguments())
	return abi.Score{}, nil
}

func TestArguments(t *testing.T) {
	e := new(argsEnv)
	n := sdk.NewNative(func() sdk.Env { return e })
	if _, err := n.Reset(1, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{
		{"quick", `{"n":1.50,"x":[true,null,{"y":"\u00e9"}]}`},
		{"quick", ``},
		{"full", `{"s":"abc","t":-2}`},
		{"full", `{"s":"a\ud83d\ude00"}`},
	} {
		res, err := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
			Function: abi.FunctionCall{Name: c[0], Arguments: c[1]}}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Messages[0].Content; got != "ok" {
			t.Errorf("%s %s: %s", c[0], c[1], got)
		}
	}
	if _, err := n.Score(); err != nil {
		t.Fatal(err)
	}
	if len(e.outside) != 1 || e.outside[0] != nil {
		t.Errorf("Arguments() outside a call = %v, want nil", e.outside)
	}
}
