package main

import (
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/plugins"
)

func TestFirstString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"echo":"hello","n":1}`, "hello"},
		{`{"n":1,"echo":"hi"}`, "hi"},
		{`{"a":{"b":[1,{"c":2}]},"d":"deep"}`, "deep"},
		{`[[],{},"x"]`, "x"},
		{`"bare"`, "bare"},
		{`42`, "42"},
		{`not json`, "not json"},
		{``, ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := firstString(c.in); got != c.want {
				t.Fatalf("firstString(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestActCallsFirstToolThenAnswers(t *testing.T) {
	tools := []abi.Tool{{Type: "function", Function: abi.Function{Name: "say",
		Parameters: abi.RawJSON(`{"type":"object","properties":{"text":{"type":"string"},"n":{"type":"integer"}},"required":["text","n"]}`)}}}
	msgs := []abi.Message{{Role: abi.RoleUser, Content: "go"}}
	m := act(plugins.Observation{Tools: tools, Messages: msgs})
	if len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != "say" || m.ToolCalls[0].Function.Arguments != `{"n":0,"text":"hello"}` {
		t.Fatalf("first action %+v, want say with placeholders", m)
	}
	msgs = append(msgs, m, abi.Message{Role: abi.RoleTool, ToolCallID: "call_0", Content: `{"echo":"hello","n":1}`})
	m = act(plugins.Observation{Tools: tools, Messages: msgs})
	if len(m.ToolCalls) != 0 || m.Content != "hello" {
		t.Fatalf("second action %+v, want the final answer hello", m)
	}
}
