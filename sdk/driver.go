package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/abijson"
)

// driver answers ABI requests for one instance. It owns the current episode.
// Both the wasm exports and Native go through it, so the native floor does
// the same work minus WebAssembly.
type driver struct {
	newEnv func() Env
	env    Env
	ep     *Episode
	tools  map[string]*Tool
	names  []string // sorted tool names, for "unknown tool" errors
	oracle Oracle
}

func newDriver(newEnv func() Env) *driver { return &driver{newEnv: newEnv} }

// afterFirstReset, when set (by the wasm build), runs once after the
// instance's first successful reset.
var afterFirstReset func()

// reply is the outcome of a request: a status and its JSON reply.
type reply struct {
	status abi.Status
	body   []byte
}

func ok(v any) reply {
	b, err := marshal(v)
	if err != nil {
		return fail(abi.StatusEnvFailure, "encode reply: %s", err)
	}
	return reply{abi.StatusOK, b}
}

func fail(s abi.Status, format string, args ...any) reply {
	b, _ := marshal(abi.Error{Error: fmt.Sprintf(format, args...)})
	return reply{s, b}
}

// marshal encodes without HTML escaping, so that tool output reaches the
// agent as written.
func marshal(v any) ([]byte, error) { return abijson.Marshal(v) }

// guard turns a panic in env code into an env failure reply.
func guard(r *reply, what string) {
	if p := recover(); p != nil {
		logMessage(abi.LogError, fmt.Sprintf("%s panicked: %v\n%s", what, p, debug.Stack()))
		*r = fail(abi.StatusEnvFailure, "%s panicked: %v", what, p)
	}
}

func (d *driver) configure(cfg []byte) (r reply) {
	defer guard(&r, "configure")
	if configureHook == nil {
		if len(cfg) == 0 {
			return ok(struct{}{})
		}
		return fail(abi.StatusUnsupported, "this environment takes no configuration")
	}
	if err := configureHook(append([]byte(nil), cfg...)); err != nil {
		return fail(abi.StatusBadRequest, "configure: %s", err)
	}
	return ok(struct{}{})
}

func (d *driver) spec() (r reply) {
	defer guard(&r, "spec")
	if d.newEnv == nil {
		return fail(abi.StatusEnvFailure, "%s", ErrNotRegistered)
	}
	return ok(d.newEnv().Spec())
}

func (d *driver) reset(seed uint64, task int32, body []byte) (r reply) {
	defer guard(&r, "reset")
	if d.newEnv == nil {
		return fail(abi.StatusEnvFailure, "%s", ErrNotRegistered)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var req abi.ResetRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return fail(abi.StatusBadRequest, "reset request is not valid JSON: %s", err)
		}
	}
	env := d.newEnv()
	spec := env.Spec()
	if task < 0 || int(task) >= spec.Tasks {
		return fail(abi.StatusBadRequest, "task %d out of range [0,%d)", task, spec.Tasks)
	}
	ep := &Episode{Seed: seed, Task: int(task), Rand: rand.New(rand.NewPCG(seed, uint64(task)))}
	// Drop the previous episode before anything can fail, so a failed reset
	// never leaves a stale episode steppable.
	d.env, d.ep, d.tools, d.names, d.oracle = nil, nil, nil, nil, nil
	start, err := env.Reset(ep)
	if err != nil {
		return fail(abi.StatusEnvFailure, "reset: %s", err)
	}
	if start == nil {
		start = &Start{}
	}
	obs := abi.Observation{Messages: start.Messages, Tools: make([]abi.Tool, 0, len(start.Tools))}
	if obs.Messages == nil {
		obs.Messages = []abi.Message{}
	}
	tools := make(map[string]*Tool, len(start.Tools))
	names := make([]string, 0, len(start.Tools))
	for _, t := range start.Tools {
		if err := t.compile(); err != nil {
			return fail(abi.StatusEnvFailure, "reset: %s", err)
		}
		if _, dup := tools[t.Name]; dup {
			return fail(abi.StatusEnvFailure, "reset: tool %q declared twice", t.Name)
		}
		tools[t.Name] = t
		names = append(names, t.Name)
		obs.Tools = append(obs.Tools, t.wire())
	}
	sort.Strings(names)
	d.env, d.ep, d.tools, d.names = env, ep, tools, names
	d.oracle, _ = env.(Oracle)
	if afterFirstReset != nil {
		f := afterFirstReset
		afterFirstReset = nil
		f()
	}
	return ok(obs)
}

func (d *driver) step(body []byte) (r reply) {
	defer guard(&r, "step")
	if d.ep == nil {
		return fail(abi.StatusBadState, "step before reset")
	}
	if d.ep.ended {
		return fail(abi.StatusBadState, "step after the episode ended")
	}
	act, fast := abijson.DecodeMessage(body)
	if !fast {
		act = abi.Message{}
		if err := json.Unmarshal(body, &act); err != nil {
			return fail(abi.StatusBadRequest, "action is not a valid assistant message: %s", err)
		}
	}
	if act.Role != abi.RoleAssistant {
		return fail(abi.StatusBadRequest, "action role is %q, want %q", act.Role, abi.RoleAssistant)
	}
	ep := d.ep
	ep.Turn++
	res := abi.StepResult{Messages: make([]abi.Message, 0, len(act.ToolCalls))}
	if len(act.ToolCalls) == 0 {
		ep.final, ep.hasFinal, ep.ended = act.Content, true, true
		res.Done = true
		return ok(res)
	}
	for _, call := range act.ToolCalls {
		ep.Calls++
		content, good := d.call(call)
		if good {
			ep.results = append(ep.results, content)
		}
		res.Messages = append(res.Messages, abi.Message{
			Role: abi.RoleTool, ToolCallID: call.ID, Name: call.Function.Name, Content: content,
		})
	}
	res.Done = ep.ended
	if b, fast := abijson.EncodeStepResult(&res); fast {
		return reply{abi.StatusOK, b}
	}
	return ok(res)
}

// call runs one tool call and returns the tool message content and whether
// the call succeeded. Bad calls become tool errors; a panicking handler is
// not recovered here, so that it fails the step.
func (d *driver) call(call abi.ToolCall) (string, bool) {
	t := d.tools[call.Function.Name]
	if t == nil {
		return toolError(fmt.Sprintf("unknown tool %q; available tools: %s",
			call.Function.Name, strings.Join(d.names, ", "))), false
	}
	args, decoded, err := t.validate(call.Function.Arguments)
	if err != nil {
		return toolError(err.Error()), false
	}
	ep := d.ep
	ep.argsJSON, ep.args = args, nil
	if m, isObject := decoded.(map[string]any); isObject {
		ep.args = m
	}
	defer func() { ep.argsJSON, ep.args = "", nil }()
	out, err := t.Handler(ep, json.RawMessage(args))
	if err != nil {
		return toolError(err.Error()), false
	}
	if s, isString := out.(string); isString {
		return s, true
	}
	b, err := marshal(out)
	if err != nil {
		panic(fmt.Sprintf("tool %q: encode result: %s", t.Name, err))
	}
	return string(b), true
}

// toolError encodes an abi.Error as marshal does.
func toolError(msg string) string {
	b := make([]byte, 0, len(msg)+16)
	b = append(b, `{"error":`...)
	b = abijson.AppendString(b, msg)
	return string(append(b, '}'))
}

func (d *driver) score() (r reply) {
	defer guard(&r, "score")
	if d.ep == nil {
		return fail(abi.StatusBadState, "score before reset")
	}
	s, err := d.env.Score(d.ep)
	if err != nil {
		return fail(abi.StatusEnvFailure, "score: %s", err)
	}
	if math.IsNaN(s.Reward) || s.Reward < 0 || s.Reward > 1 {
		return fail(abi.StatusEnvFailure, "score: reward %v outside [0,1]", s.Reward)
	}
	return ok(s)
}

func (d *driver) oracleAction() (r reply) {
	defer guard(&r, "oracle")
	if d.ep == nil {
		return fail(abi.StatusBadState, "oracle before reset")
	}
	if d.oracle == nil {
		return fail(abi.StatusUnsupported, "this environment has no oracle")
	}
	m, err := d.oracle.Oracle(d.ep)
	if err != nil {
		return fail(abi.StatusEnvFailure, "oracle: %s", err)
	}
	m.Role = abi.RoleAssistant
	return ok(m)
}
