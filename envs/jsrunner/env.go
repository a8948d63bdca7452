package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/dop251/goja"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// env adapts the script's env object to sdk.Env for one episode.
type env struct {
	s  *script
	v  *vm
	ep *goja.Object // the ep object handed to the script's functions
}

// oracleEnv is env for scripts that define env.oracle; the SDK finds the
// oracle by interface.
type oracleEnv struct{ env }

var (
	_ sdk.Env    = (*env)(nil)
	_ sdk.Oracle = (*oracleEnv)(nil)
)

func (e *env) Spec() abi.Spec { return e.s.spec }

func (e *env) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	v, err := e.s.take()
	if err != nil {
		return nil, err
	}
	e.v = v
	v.startEpisode(ep.Rand)
	e.ep = v.episodeObject(ep)
	out, err := settle(v.reset(v.env, e.ep))
	if err != nil {
		return nil, errors.New(describe(err))
	}
	obj, ok := out.(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("env.reset returned %s, want {messages, tools}", out)
	}
	if err := checkKeys(obj, "the result of env.reset", "messages", "tools"); err != nil {
		return nil, err
	}
	start := &sdk.Start{}
	if m := obj.Get("messages"); m != nil && !goja.IsUndefined(m) {
		b, err := v.toJSON(m)
		if err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		if err := decodeStrict(b, &start.Messages); err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
	}
	if t := obj.Get("tools"); t != nil && !goja.IsUndefined(t) {
		if start.Tools, err = e.tools(t); err != nil {
			return nil, err
		}
	}
	return start, nil
}

// noArguments is the schema of a tool declared without parameters.
const noArguments = `{"type":"object","properties":{},"additionalProperties":false}`

func (e *env) tools(val goja.Value) ([]*sdk.Tool, error) {
	arr, ok := val.(*goja.Object)
	if !ok || arr.ClassName() != "Array" {
		return nil, fmt.Errorf("tools is %s, want an array", val)
	}
	n := arr.Get("length").ToInteger()
	tools := make([]*sdk.Tool, 0, n)
	for i := int64(0); i < n; i++ {
		obj, ok := arr.Get(strconv.FormatInt(i, 10)).(*goja.Object)
		if !ok {
			return nil, fmt.Errorf("tools[%d] is not an object", i)
		}
		what := fmt.Sprintf("tools[%d]", i)
		if err := checkKeys(obj, what, "name", "description", "parameters", "handler"); err != nil {
			return nil, err
		}
		name, ok := obj.Get("name").Export().(string)
		if !ok {
			return nil, fmt.Errorf("%s.name is not a string", what)
		}
		t := &sdk.Tool{Name: name, Schema: json.RawMessage(noArguments)}
		if d := obj.Get("description"); d != nil && !goja.IsUndefined(d) {
			if t.Description, ok = d.Export().(string); !ok {
				return nil, fmt.Errorf("tool %q: description is not a string", name)
			}
		}
		if p := obj.Get("parameters"); p != nil && !goja.IsUndefined(p) {
			b, err := e.v.toJSON(p)
			if err != nil {
				return nil, fmt.Errorf("tool %q: parameters: %w", name, err)
			}
			t.Schema = b
		}
		fn, ok := goja.AssertFunction(obj.Get("handler"))
		if !ok {
			return nil, fmt.Errorf("tool %q: handler is not a function", name)
		}
		t.Handler = e.handler(name, obj, fn)
		tools = append(tools, t)
	}
	return tools, nil
}

// handler adapts a script's tool handler. The SDK has already validated the
// arguments against the tool's schema. A thrown error (or a rejected
// promise) is a tool error the agent reads; an uncatchable one (the call
// stack limit) or a result that cannot be encoded is a fault of the
// environment, and panics, which the SDK turns into an env failure.
func (e *env) handler(name string, tool *goja.Object, fn goja.Callable) func(*sdk.Episode, json.RawMessage) (any, error) {
	return func(_ *sdk.Episode, raw json.RawMessage) (any, error) {
		v := e.v
		args, err := v.fromJSON(raw)
		if err != nil {
			return nil, &sdk.ToolError{Message: "arguments: " + err.Error()}
		}
		out, err := settle(fn(tool, args, e.ep))
		if err != nil {
			val, ok := thrown(err)
			if !ok {
				panic(fmt.Sprintf("tool %q: %s", name, describe(err)))
			}
			if o, isObj := val.(*goja.Object); !isObj || o.ClassName() != "Error" || o.Get("name").String() != "Error" {
				// Not a deliberate `throw new Error(...)`: likely a bug
				// in the script, so leave its location for the author.
				sdk.Logf(sdk.LevelWarn, "tool %q threw: %s", name, describe(err))
			}
			return nil, &sdk.ToolError{Message: v.message(val)}
		}
		if goja.IsUndefined(out) || goja.IsNull(out) {
			return nil, nil
		}
		if _, isObj := out.(*goja.Object); !isObj {
			if s, ok := out.Export().(string); ok {
				return s, nil
			}
		}
		b, err := v.toJSON(out)
		if err != nil {
			panic(fmt.Sprintf("tool %q: encode result: %s", name, err))
		}
		return string(b), nil
	}
}

func (e *env) Score(ep *sdk.Episode) (abi.Score, error) {
	var out goja.Value
	var err error
	e.v.aside(ep, func() { out, err = settle(e.v.score(e.v.env, e.ep)) })
	if err != nil {
		return abi.Score{}, errors.New(describe(err))
	}
	if r, ok := number(out); ok {
		return abi.Score{Reward: r}, nil
	}
	obj, ok := out.(*goja.Object)
	if !ok {
		return abi.Score{}, fmt.Errorf("env.score returned %s, want a number or {reward, components}", out)
	}
	if err := checkKeys(obj, "the result of env.score", "reward", "components"); err != nil {
		return abi.Score{}, err
	}
	var s abi.Score
	r, ok := number(obj.Get("reward"))
	if !ok {
		return abi.Score{}, fmt.Errorf("reward is %s, want a number", obj.Get("reward"))
	}
	s.Reward = r
	if c := obj.Get("components"); c != nil && !goja.IsUndefined(c) {
		co, ok := c.(*goja.Object)
		if !ok {
			return abi.Score{}, fmt.Errorf("components is %s, want an object of numbers", c)
		}
		s.Components = make(map[string]float64)
		for _, k := range co.Keys() {
			x, ok := number(co.Get(k))
			if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
				return abi.Score{}, fmt.Errorf("components.%s is %s, want a finite number", k, co.Get(k))
			}
			s.Components[k] = x
		}
	}
	return s, nil
}

// number returns a JavaScript number as a float64.
func number(val goja.Value) (float64, bool) {
	if val == nil {
		return 0, false
	}
	switch x := val.Export().(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// action is the shape env.oracle may return besides a plain string: an
// assistant message whose tool calls may be written briefly,
// {name, arguments: {...}}, or in OpenAI's shape,
// {id, type, function: {name, arguments: "..."}}.
type action struct {
	Content   string       `json:"content"`
	ToolCalls []actionCall `json:"tool_calls"`
}

type actionCall struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Function  *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

func (e *oracleEnv) Oracle(ep *sdk.Episode) (abi.Message, error) {
	var out goja.Value
	var err error
	e.v.aside(ep, func() { out, err = settle(e.v.oracle(e.v.env, e.ep)) })
	if err != nil {
		return abi.Message{}, errors.New(describe(err))
	}
	if _, isObj := out.(*goja.Object); !isObj {
		if s, ok := out.Export().(string); ok {
			return abi.Message{Role: abi.RoleAssistant, Content: s}, nil
		}
		return abi.Message{}, fmt.Errorf("env.oracle returned %s, want a string or {content, tool_calls}", out)
	}
	b, err := e.v.toJSON(out)
	if err != nil {
		return abi.Message{}, err
	}
	var a action
	if err := decodeStrict(b, &a); err != nil {
		return abi.Message{}, fmt.Errorf("env.oracle result: %w", err)
	}
	m := abi.Message{Role: abi.RoleAssistant, Content: a.Content}
	for i, c := range a.ToolCalls {
		name, args := c.Name, c.Arguments
		if c.Function != nil {
			name, args = c.Function.Name, c.Function.Arguments
		}
		if name == "" {
			return abi.Message{}, fmt.Errorf("env.oracle result: tool_calls[%d] has no name", i)
		}
		argText, err := argumentsText(args)
		if err != nil {
			return abi.Message{}, fmt.Errorf("env.oracle result: tool_calls[%d].arguments: %w", i, err)
		}
		id := c.ID
		if id == "" {
			id = fmt.Sprintf("call_%d_%d", ep.Turn, i)
		}
		m.ToolCalls = append(m.ToolCalls, abi.ToolCall{ID: id, Type: "function",
			Function: abi.FunctionCall{Name: name, Arguments: argText}})
	}
	return m, nil
}

// argumentsText turns arguments given as an object into the JSON string
// OpenAI's shape carries; a string is taken as that JSON already.
func argumentsText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "{}", nil
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	return string(raw), nil
}

// unconfigured is the env of a runner loaded without a script.
type unconfigured struct{}

var errNoScript = errors.New("jsrunner: no environment script: load the runner with the script as its configuration")

func (unconfigured) Spec() abi.Spec                         { panic(errNoScript.Error()) }
func (unconfigured) Reset(*sdk.Episode) (*sdk.Start, error) { return nil, errNoScript }
func (unconfigured) Score(*sdk.Episode) (abi.Score, error)  { return abi.Score{}, errNoScript }
