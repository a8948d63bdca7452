package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/astra"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/sdk"
)

// BenchmarkCall runs one tool call of the sample's first task (the ethanol
// boiling-point lookup, as bench's call/astra) natively: the step path of
// the SDK and the runner without WebAssembly.
func BenchmarkCall(b *testing.B) {
	var in bytes.Buffer
	for _, f := range inputs {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		in.Write(data)
	}
	res, err := astra.Compile(context.Background(), &in, astra.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ts bytes.Buffer
	if err := res.WriteTaskSet(&ts); err != nil {
		b.Fatal(err)
	}
	if err := configure(ts.Bytes()); err != nil {
		b.Fatal(err)
	}
	var call task.Call
	for _, c := range res.Tasks[0].Calls {
		if c.Tool == "chemical_property_lookup" {
			call = c
		}
	}
	if call.Tool == "" {
		b.Fatal("no chemical_property_lookup call in task 0")
	}
	// exact repeats the verified call's arguments byte for byte, as the
	// oracle and bench's call/astra do; reordered says the same in another
	// key order, spacing and case, which must be canonicalized.
	for _, args := range []struct{ name, json string }{
		{"exact", `{"compound":"ethanol","property":"boiling_point"}`},
		{"reordered", `{"property": "boiling_point", "compound": " Ethanol"}`},
	} {
		b.Run(args.name, func(b *testing.B) {
			act, _ := json.Marshal(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "call_1", Type: "function",
				Function: abi.FunctionCall{Name: call.Tool, Arguments: args.json}}}})
			n := sdk.NewNative(func() sdk.Env { return new(env) })
			if _, err := n.Reset(1, 0); err != nil {
				b.Fatal(err)
			}
			st, out := n.StepRaw(act)
			var r abi.StepResult
			if err := json.Unmarshal(out, &r); st != abi.StatusOK || err != nil || r.Messages[0].Content != call.Answer {
				b.Fatalf("step: %s %s, want %q", st, out, call.Answer)
			}
			b.ReportAllocs()
			for b.Loop() {
				if st, out := n.StepRaw(act); st != abi.StatusOK {
					b.Fatalf("step: %s %s", st, out)
				}
			}
		})
	}
}
