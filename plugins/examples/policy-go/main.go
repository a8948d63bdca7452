// Command policy-go is an example policy plugin in Go: a heuristic that
// calls the first offered tool once, with placeholder arguments drawn from
// its schema, and then answers with the first string in the tool's reply.
// It plays runtime/testdata/echo perfectly ("say hello", then "hello") and
// shows the whole of what a policy plugin has to do: implement
// plugins.Policy and call plugins.ServePolicy.
//
// Build it and run an environment with it:
//
//	go build -o /tmp/policy-go ./plugins/examples/policy-go
//	terrarium run --env runtime/testdata/echo --policy plugin:/tmp/policy-go
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/plugins"
)

func main() { plugins.ServePolicy(firstTool{}) }

type firstTool struct{}

func (firstTool) Describe(context.Context) (plugins.Info, error) {
	// Anything a plugin prints reaches the host's log (--policy-log).
	fmt.Fprintln(os.Stderr, "policy-go: ready")
	return plugins.Info{Name: "first-tool"}, nil
}

func (firstTool) Act(_ context.Context, obs []plugins.Observation) ([]plugins.Action, error) {
	acts := make([]plugins.Action, len(obs))
	for i, o := range obs {
		acts[i].Message = act(o)
	}
	return acts, nil
}

func act(o plugins.Observation) abi.Message {
	called := false
	var last string
	for _, m := range o.Messages {
		switch m.Role {
		case abi.RoleAssistant:
			called = called || len(m.ToolCalls) > 0
		case abi.RoleTool:
			last = m.Content
		}
	}
	if called || len(o.Tools) == 0 {
		return abi.Message{Role: abi.RoleAssistant, Content: firstString(last)}
	}
	t := o.Tools[0].Function
	args, _ := json.Marshal(placeholders(t.Parameters))
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{
		ID: "call_0", Type: "function", Function: abi.FunctionCall{Name: t.Name, Arguments: string(args)},
	}}}
}

// placeholders fills the required properties of an object schema.
func placeholders(schema []byte) map[string]any {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &s)
	args := map[string]any{}
	req := append([]string(nil), s.Required...)
	sort.Strings(req)
	for _, name := range req {
		switch s.Properties[name].Type {
		case "string":
			args[name] = "hello"
		case "integer", "number":
			args[name] = 0
		case "boolean":
			args[name] = false
		default:
			args[name] = nil
		}
	}
	return args
}

// firstString returns the first string value of a JSON document, in
// document order, or the text itself when it holds none.
func firstString(text string) string {
	if s, ok := first(json.NewDecoder(strings.NewReader(text))); ok {
		return s
	}
	return text
}

// first returns the first string in the next JSON value of dec. It walks
// tokens rather than decoding into a map, whose order is random.
func first(dec *json.Decoder) (string, bool) {
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	switch v := tok.(type) {
	case string:
		return v, true
	case json.Delim:
		for dec.More() {
			if v == '{' {
				if _, err := dec.Token(); err != nil { // the key
					return "", false
				}
			}
			if s, ok := first(dec); ok {
				return s, true
			}
		}
		dec.Token() // the closing delimiter, so that the caller's More sees past it
	}
	return "", false
}
