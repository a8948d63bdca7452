package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// These tests run scripts natively through sdk.NewNative: the same request
// handling as the wasm runner, without WebAssembly. internal/jsenv tests the
// built runner under the sandbox.

func load(t testing.TB, src string) *sdk.Native {
	t.Helper()
	if err := configure([]byte(src)); err != nil {
		t.Fatalf("configure: %v", err)
	}
	return sdk.NewNative(newEnv)
}

func reset(t testing.TB, n *sdk.Native, seed uint64, task int) abi.Observation {
	t.Helper()
	obs, err := n.Reset(seed, task)
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	return obs
}

func call(name, args string) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{
		ID: "c1", Type: "function", Function: abi.FunctionCall{Name: name, Arguments: args}}}}
}

// toolContent makes one call and returns the tool message's content.
func toolContent(t testing.TB, n *sdk.Native, name, args string) string {
	t.Helper()
	res, err := n.Step(call(name, args))
	if err != nil {
		t.Fatalf("step %s(%s): %v", name, args, err)
	}
	if len(res.Messages) != 1 {
		t.Fatalf("step %s: %d messages, want 1", name, len(res.Messages))
	}
	return res.Messages[0].Content
}

func status(err error) abi.Status {
	var se *sdk.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return abi.StatusOK
}

// envScript wraps a reset body and extra env members into a complete script.
func envScript(resetBody, members string) string {
	return `const env = {
  spec: {name: "t", version: "1.0.0", tasks: 2},
  reset(ep) {` + resetBody + `},
  score(ep) { return 0 },` + members + `
};`
}

func TestConfigureErrors(t *testing.T) {
	good := `spec: {name: "t", version: "1", tasks: 1}, reset(ep) { return {} }, score(ep) { return 0 }`
	tests := []struct {
		name, src, want string
	}{
		{"empty", "  \n", "empty"},
		{"not utf8", "const env = '\xff';", "UTF-8"},
		{"syntax error", "const env = {", "env.js"},
		{"no env", "const x = 1;", "does not define env"},
		{"env not object", "const env = 3;", "does not define env"},
		{"top-level throw", "throw new Error('nope');", "run env.js: Error: nope"},
		{"missing spec", `const env = {reset(){}, score(){}};`, "env.spec is not an object"},
		{"spec typo", `const env = {spec: {name: "t", version: "1", tasks: 1, maxTurns: 3}, reset(){}, score(){}};`, `unknown field "maxTurns"`},
		{"spec wrong type", `const env = {spec: {name: "t", version: "1", tasks: "one"}, reset(){}, score(){}};`, "env.spec"},
		{"reset missing", `const env = {spec: {name: "t", version: "1", tasks: 1}, score(){}};`, "env.reset is not a function"},
		{"score missing", `const env = {spec: {name: "t", version: "1", tasks: 1}, reset(){}};`, "env.score is not a function"},
		{"oracle not function", `const env = {` + good + `, oracle: 3};`, "env.oracle is not a function"},
		{"unknown member", `const env = {` + good + `, sore(){}};`, `unknown property "sore"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configure([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("configure error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEnvDeclarations(t *testing.T) {
	body := `{spec: {name: "d", version: "2.0.0", description: "x", tasks: 3, max_turns: 7}, reset(ep) { return {} }, score() { return 1 }}`
	want := abi.Spec{Name: "d", Version: "2.0.0", Description: "x", Tasks: 3, MaxTurns: 7}
	for _, decl := range []string{"const env = ", "let env = ", "var env = ", "env = ", "globalThis.env = "} {
		t.Run(decl, func(t *testing.T) {
			n := load(t, decl+body+";")
			got, err := n.Spec()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("spec = %+v, want %+v", got, want)
			}
		})
	}
}

// TestMathRandom checks that Math.random is the episode's generator: the
// stream of sdk.Episode.Rand, whatever the script drew while loading.
func TestMathRandom(t *testing.T) {
	const draws = `return {messages: [{role: "user", content: JSON.stringify([Math.random(), Math.random(), Math.random()])}]}`
	quiet := load(t, envScript(draws, ""))
	noisy := load(t, "for (let i = 0; i < 5; i++) Math.random();\n"+envScript(draws, ""))
	for _, seed := range []uint64{0, 1, 42, 1 << 60} {
		for task := range 2 {
			r := rand.New(rand.NewPCG(seed, uint64(task)))
			want, _ := json.Marshal([]float64{r.Float64(), r.Float64(), r.Float64()})
			for name, n := range map[string]*sdk.Native{"quiet": quiet, "noisy": noisy} {
				got := reset(t, n, seed, task).Messages[0].Content
				if got != string(want) {
					t.Errorf("%s seed %d task %d: Math.random gave %s, want %s", name, seed, task, got, want)
				}
			}
		}
	}
}

func TestDate(t *testing.T) {
	n := load(t, envScript(`
    const a = Date.now(), b = new Date(), c = Date.now();
    ep.state.first = a;
    return {
      messages: [{role: "user", content: JSON.stringify([a, b.toISOString(), c, b.getHours(), b.getTimezoneOffset(), new Date(2025, 0, 2).toISOString()])}],
      tools: [{name: "now", handler() { return Date.now() - ep.state.first }}],
    };`, ""))
	want := `[1735689600000,"2025-01-01T00:00:00.001Z",1735689600002,0,0,"2025-01-02T00:00:00.000Z"]`
	for episode := range 2 { // the clock restarts with every episode
		if got := reset(t, n, uint64(episode), 0).Messages[0].Content; got != want {
			t.Fatalf("episode %d: dates %s, want %s", episode, got, want)
		}
		if got := toolContent(t, n, "now", ""); got != "3" {
			t.Fatalf("episode %d: clock advanced %s ms by the first tool call, want 3", episode, got)
		}
	}
}

// TestNoHostAccess checks that nothing outside ECMAScript and console is
// reachable from a script.
func TestNoHostAccess(t *testing.T) {
	names := []string{"require", "process", "module", "exports", "fetch", "XMLHttpRequest", "setTimeout",
		"setInterval", "queueMicrotask", "Deno", "Bun", "WebAssembly", "importScripts", "__dirname", "os", "fs"}
	var checks []string
	for _, name := range names {
		checks = append(checks, fmt.Sprintf("%q: typeof %s", name, name))
	}
	n := load(t, envScript(`return {messages: [{role: "user", content: JSON.stringify({`+strings.Join(checks, ", ")+`})}]}`, ""))
	var got map[string]string
	if err := json.Unmarshal([]byte(reset(t, n, 0, 0).Messages[0].Content), &got); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if got[name] != "undefined" {
			t.Errorf("typeof %s = %q, want undefined", name, got[name])
		}
	}
	// Dynamic import has nothing to load from.
	err := configure([]byte(`import("fs"); ` + envScript(`return {}`, "")))
	if err == nil {
		t.Errorf("a script calling import() configured without error")
	}
}

const toolsScript = `
const env = {
  spec: {name: "tools", version: "1.0.0", tasks: 1},
  reset(ep) {
    ep.state.calls = 0;
    const tool = (name, handler, parameters) => ({name, description: name + " tool", parameters, handler(args, ep) { ep.state.calls++; return handler(args, ep) }});
    return {
      messages: [{role: "system", content: "s"}, {role: "user", content: "u"}],
      tools: [
        tool("add", (a) => ({sum: a.x + a.y}), {type: "object", properties: {x: {type: "integer"}, y: {type: "integer"}}, required: ["x", "y"]}),
        tool("text", () => "plain <text> & more"),
        tool("nothing", () => undefined),
        tool("number", () => 4.5),
        tool("async", async () => { await null; return {ok: true} }),
        tool("fail", () => { throw new Error("out of stock") }),
        tool("type_error", () => { const x = undefined; return x.y }),
        tool("throw_string", () => { throw "just a string" }),
        tool("throw_object", () => { throw {code: 7, why: "no"} }),
        tool("reject", async () => { throw new RangeError("too far") }),
        tool("pending", () => new Promise(() => {})),
        tool("cyclic", () => { const o = {}; o.o = o; return o }),
        tool("deep", () => { const f = (n) => f(n + 1) + 1; return f(0) }),
        tool("deep_caught", () => { const f = (n) => f(n + 1) + 1; try { return f(0) } catch (e) { return "caught" } }),
        tool("deep_native", () => { const f = (n) => "a".replace(/a/, () => f(n + 1)); return f(0) }),
        tool("end", (a, ep) => { ep.end(); return "bye" }),
        tool("echo", (a) => a, {type: "object"}),
      ],
    };
  },
  score(ep) {
    return {reward: ep.state.calls > 0 ? 1 : 0, components: {calls: ep.state.calls, turn: ep.turn, results: ep.toolResults.length}};
  },
};`

func TestToolResults(t *testing.T) {
	n := load(t, toolsScript)
	obs := reset(t, n, 0, 0)
	if len(obs.Tools) != 17 || obs.Tools[0].Function.Description != "add tool" {
		t.Fatalf("tools = %+v", obs.Tools)
	}
	if got := string(obs.Tools[1].Function.Parameters); got != noArguments {
		t.Errorf("schema of a tool without parameters = %s, want %s", got, noArguments)
	}
	tests := []struct{ tool, args, want string }{
		{"add", `{"x": 2, "y": 3}`, `{"sum":5}`},
		{"add", `{"y": 3, "x": -2}`, `{"sum":1}`},
		{"text", ``, `plain <text> & more`},
		{"nothing", `{}`, `null`},
		{"number", `{}`, `4.5`},
		{"async", `{}`, `{"ok":true}`},
		{"echo", `{"s": "<é>", "n": [1, {"a": null}]}`, `{"s":"<é>","n":[1,{"a":null}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			if got := toolContent(t, n, tt.tool, tt.args); got != tt.want {
				t.Fatalf("%s(%s) = %s, want %s", tt.tool, tt.args, got, tt.want)
			}
		})
	}
}

// TestToolErrors checks that whatever a handler throws becomes a tool
// error the agent reads, that bad arguments never reach the handler, and
// that the episode goes on.
func TestToolErrors(t *testing.T) {
	n := load(t, toolsScript)
	reset(t, n, 0, 0)
	tests := []struct{ tool, args, want string }{
		{"fail", ``, `out of stock`},
		{"type_error", ``, `TypeError: Cannot read property 'y' of undefined`},
		{"throw_string", ``, `just a string`},
		{"throw_object", ``, `{"code":7,"why":"no"}`},
		{"reject", ``, `RangeError: too far`},
		{"add", `{"x": 1}`, `invalid arguments`},
		{"add", `{"x": 1, "y": "2"}`, `invalid arguments`},
		{"add", `{"x": 1,`, `not valid JSON`},
		{"nope", `{}`, `unknown tool "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			got := toolContent(t, n, tt.tool, tt.args)
			var e abi.Error
			if err := json.Unmarshal([]byte(got), &e); err != nil || !strings.Contains(e.Error, tt.want) {
				t.Fatalf("%s(%s) = %s, want a tool error containing %q", tt.tool, tt.args, got, tt.want)
			}
		})
	}
	s, err := n.Score()
	if err != nil {
		t.Fatal(err)
	}
	// Calls that failed validation never reached a handler.
	if want := float64(len(tests) - 4); s.Components["calls"] != want {
		t.Errorf("handlers ran %v times, want %v", s.Components["calls"], want)
	}
	if s.Components["results"] != 0 {
		t.Errorf("%v successful tool results counted, want 0", s.Components["results"])
	}
}

// TestEnvFailures checks the faults that end an episode: the call stack
// limit (uncatchable, even by try/catch), results that cannot be encoded,
// and errors in reset or score.
func TestEnvFailures(t *testing.T) {
	for _, tt := range []struct{ tool, want string }{
		{"deep", "call stack exceeded 500 frames"},
		{"deep_caught", "call stack exceeded 500 frames"},
		{"deep_native", "call stack exceeded 500 frames"},
		{"cyclic", "encode result"},
		{"pending", "never settled"},
	} {
		t.Run(tt.tool, func(t *testing.T) {
			n := load(t, toolsScript)
			reset(t, n, 0, 0)
			_, err := n.Step(call(tt.tool, ""))
			if status(err) != abi.StatusEnvFailure || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("step %s: %v, want an env failure containing %q", tt.tool, err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, src, op, want string }{
		{"reset throws", envScript(`throw new Error("boom")`, ""), "reset", "reset: Error: boom at reset (env.js:"},
		{"reset returns number", envScript(`return 3`, ""), "reset", "want {messages, tools}"},
		{"reset typo", envScript(`return {message: []}`, ""), "reset", `unknown property "message"`},
		{"bad message", envScript(`return {messages: [{role: "user", text: "x"}]}`, ""), "reset", `unknown field "text"`},
		{"tools not array", envScript(`return {tools: {}}`, ""), "reset", "want an array"},
		{"tool without handler", envScript(`return {tools: [{name: "x"}]}`, ""), "reset", "handler is not a function"},
		{"tool bad schema", envScript(`return {tools: [{name: "x", parameters: {type: "string"}, handler() {}}]}`, ""), "reset", `"type": "object"`},
		{"tool twice", envScript(`const t = {name: "x", handler() {}}; return {tools: [t, t]}`, ""), "reset", "declared twice"},
		{"reset recursion", envScript(`const f = (n) => f(n + 1); return f(0)`, ""), "reset", "call stack exceeded"},
		{"score throws", `const env = {spec: {name: "t", version: "1", tasks: 1}, reset() { return {} }, score() { null.x }};`, "score", "TypeError"},
		{"score NaN", `const env = {spec: {name: "t", version: "1", tasks: 1}, reset() { return {} }, score() { return NaN }};`, "score", "outside [0,1]"},
		{"score above 1", `const env = {spec: {name: "t", version: "1", tasks: 1}, reset() { return {} }, score() { return {reward: 2} }};`, "score", "outside [0,1]"},
		{"score string", `const env = {spec: {name: "t", version: "1", tasks: 1}, reset() { return {} }, score() { return "1" }};`, "score", "want a number"},
		{"score bad component", `const env = {spec: {name: "t", version: "1", tasks: 1}, reset() { return {} }, score() { return {reward: 1, components: {a: "x"}} }};`, "score", "components.a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := load(t, tt.src)
			_, err := n.Reset(0, 0)
			if tt.op == "score" {
				if err != nil {
					t.Fatalf("reset: %v", err)
				}
				_, err = n.Score()
			}
			if status(err) != abi.StatusEnvFailure || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%s: %v, want an env failure containing %q", tt.op, err, tt.want)
			}
		})
	}
}

func TestEpisodeObject(t *testing.T) {
	n := load(t, toolsScript)
	reset(t, n, 7, 0)
	toolContent(t, n, "add", `{"x": 1, "y": 1}`)
	toolContent(t, n, "fail", ``)
	res, err := n.Step(call("end", ""))
	if err != nil || !res.Done {
		t.Fatalf("end: %+v, %v; want done", res, err)
	}
	if _, err := n.Step(call("add", `{"x": 1, "y": 1}`)); status(err) != abi.StatusBadState {
		t.Fatalf("step after end: %v, want bad state", err)
	}
	s, err := n.Score()
	if err != nil {
		t.Fatal(err)
	}
	want := abi.Score{Reward: 1, Components: map[string]float64{"calls": 3, "turn": 3, "results": 2}}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("score = %v, want %v", s, want)
	}

	n = load(t, envScript(`return {messages: [{role: "user", content: JSON.stringify([ep.seed, ep.task, ep.turn, ep.calls, ep.ended, ep.finalAnswer, ep.toolResults, ep.state])}]}`, `
  oracle(ep) { return ep.finalAnswer === null ? "done" : "again" },`))
	if got := reset(t, n, 9, 1).Messages[0].Content; got != `[9,1,0,0,false,null,[],{}]` {
		t.Fatalf("ep at reset = %s", got)
	}
}

// TestEpisodesIsolated checks that no script state outlives its episode
// when one instance serves several.
func TestEpisodesIsolated(t *testing.T) {
	n := load(t, `let resets = 0;
globalThis.leak = globalThis.leak || [];
`+envScript(`resets++; leak.push(ep.seed); ep.state.x = (ep.state.x || 0) + 1;
    return {messages: [{role: "user", content: JSON.stringify([resets, leak, ep.state.x])}]}`, ""))
	for seed := range uint64(3) {
		want := fmt.Sprintf("[1,[%d],1]", seed)
		if got := reset(t, n, seed, 0).Messages[0].Content; got != want {
			t.Fatalf("episode %d saw %s, want %s", seed, got, want)
		}
	}
}

func TestOracle(t *testing.T) {
	tests := []struct {
		name, ret string
		want      abi.Message
	}{
		{"string", `"42"`, abi.Message{Role: "assistant", Content: "42"}},
		{"short calls", `{tool_calls: [{name: "a", arguments: {x: 1}}, {name: "b"}]}`, abi.Message{Role: "assistant", ToolCalls: []abi.ToolCall{
			{ID: "call_0_0", Type: "function", Function: abi.FunctionCall{Name: "a", Arguments: `{"x":1}`}},
			{ID: "call_0_1", Type: "function", Function: abi.FunctionCall{Name: "b", Arguments: `{}`}}}}},
		{"openai calls", `{content: "t", tool_calls: [{id: "k", type: "function", function: {name: "a", arguments: "{\"x\": 1}"}}]}`, abi.Message{Role: "assistant", Content: "t", ToolCalls: []abi.ToolCall{
			{ID: "k", Type: "function", Function: abi.FunctionCall{Name: "a", Arguments: `{"x": 1}`}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := load(t, envScript(`return {}`, "\n  oracle(ep) { return "+tt.ret+" },"))
			reset(t, n, 0, 0)
			got, err := n.Oracle()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("oracle = %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, members, want string }{
		{"bad shape", "\n  oracle(ep) { return {say: 1} },", `unknown field "say"`},
		{"no name", "\n  oracle(ep) { return {tool_calls: [{arguments: {}}]} },", "has no name"},
		{"throws", "\n  oracle(ep) { throw new Error('lost') },", "Error: lost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := load(t, envScript(`return {}`, tt.members))
			reset(t, n, 0, 0)
			if _, err := n.Oracle(); status(err) != abi.StatusEnvFailure || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("oracle: %v, want an env failure containing %q", err, tt.want)
			}
		})
	}
	n := load(t, envScript(`return {}`, ""))
	reset(t, n, 0, 0)
	if _, err := n.Oracle(); status(err) != abi.StatusUnsupported {
		t.Fatalf("oracle of a script without one: %v, want unsupported", err)
	}
}

func TestUnconfigured(t *testing.T) {
	loaded = nil
	n := sdk.NewNative(newEnv)
	if _, err := n.Spec(); status(err) != abi.StatusEnvFailure || !strings.Contains(err.Error(), "no environment script") {
		t.Fatalf("spec without a script: %v", err)
	}
}

// FuzzToolArguments checks that no arguments string an agent can send
// fails the episode: every call is answered with a result or a tool error.
func FuzzToolArguments(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"x": 1, "y": 2}`, `[`, `{"s": "\ud800"}`, `{"a": 1e400}`,
		strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000), `{"__proto__": {"x": 1}}`} {
		f.Add("echo", s)
		f.Add("add", s)
	}
	n := load(f, toolsScript)
	f.Fuzz(func(t *testing.T, tool, args string) {
		if tool != "echo" && tool != "add" {
			return
		}
		reset(t, n, 0, 0)
		res, err := n.Step(call(tool, args))
		if err != nil {
			t.Fatalf("%s(%q): %v", tool, args, err)
		}
		if len(res.Messages) != 1 || !json.Valid([]byte(res.Messages[0].Content)) {
			t.Fatalf("%s(%q): %+v", tool, args, res)
		}
	})
}

// TestScoreAndOracleAside checks that asking for scores and oracle actions,
// which hosts do at will, never shifts the episode's Math.random or Date.
func TestScoreAndOracleAside(t *testing.T) {
	n := load(t, envScript(`return {tools: [{name: "draw", handler: () => [Math.random(), Date.now()]}]}`, `
  oracle(ep) { Math.random(); Date.now(); return JSON.stringify([Math.random(), Date.now()]) },`))
	draw := func(peek bool) (string, string) {
		reset(t, n, 3, 1)
		var seen string
		if peek {
			for range 3 {
				m, err := n.Oracle()
				if err != nil {
					t.Fatal(err)
				}
				seen = m.Content
				if _, err := n.Score(); err != nil {
					t.Fatal(err)
				}
			}
		}
		return toolContent(t, n, "draw", ""), seen
	}
	quiet, _ := draw(false)
	peeked, oracleSaw := draw(true)
	if quiet != peeked {
		t.Fatalf("draws after oracle and score calls %s, without %s", peeked, quiet)
	}
	if oracleSaw == "" || oracleSaw == quiet {
		t.Fatalf("the oracle saw %q; want values of its own, not the episode's %s", oracleSaw, quiet)
	}
}

func TestRecursionWithinLimit(t *testing.T) {
	n := load(t, envScript(`return {tools: [
    {name: "plain", handler() { const f = (n) => n === 0 ? 0 : 1 + f(n - 1); return f(`+fmt.Sprint(MaxCallDepth-20)+`) }},
    // Through map, each level takes three frames: f, map and the arrow.
    {name: "native", handler() { const f = (n) => n === 0 ? 0 : [n].map(() => 1 + f(n - 1))[0]; return f(`+fmt.Sprint(MaxCallDepth/3-20)+`) }},
  ]}`, ""))
	reset(t, n, 0, 0)
	if got, want := toolContent(t, n, "plain", ""), fmt.Sprint(MaxCallDepth-20); got != want {
		t.Errorf("plain recursion returned %s, want %s", got, want)
	}
	if got, want := toolContent(t, n, "native", ""), fmt.Sprint(MaxCallDepth/3-20); got != want {
		t.Errorf("recursion through map returned %s, want %s", got, want)
	}
}

// TestLanguage backs the feature list of docs/js-env.md.
func TestLanguage(t *testing.T) {
	n := load(t, `
class Counter { #n = 0; inc() { return ++this.#n } }
function* gen() { yield 1; yield 2 }
const env = {
  spec: {name: "lang", version: "1", tasks: 1},
  async reset(ep) {
    const c = new Counter(); c.inc();
    const {a, ...rest} = {a: 1, b: 2, c: 3};
    const m = new Map([["k", 1]]), s = new Set([1, 1, 2]);
    const sym = Symbol("s");
    const p = new Proxy({}, {get: (t, k) => k + "!"});
    const got = [
      c.inc(), a, Object.keys(rest).join(""), [...gen()].join(""), m.get("k"), s.size, typeof sym,
      p.x, Reflect.has({q: 1}, "q"), (2n ** 64n).toString(), new Uint8Array([1, 2]).length,
      ({}).missing?.deep ?? "nullish", `+"`${1 + 1}`"+`, await Promise.resolve("awaited"),
      /(?<year>\d{4})/.exec("in 2025").groups.year, [3, 1, 2].sort().join(""), "x".padStart(3, "-"),
      Object.entries({e: 1}).flat().join(""), Array.from({length: 2}, (_, i) => i).join(""),
    ];
    return {messages: [{role: "user", content: JSON.stringify(got)}]};
  },
  score() { return 0 },
};`)
	want := `[2,1,"bc","12",1,2,"symbol","x!",true,"18446744073709551616",2,"nullish","2","awaited","2025","123","--x","e1","01"]`
	if got := reset(t, n, 0, 0).Messages[0].Content; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// Scripts reach tool backends through backend(name, request); what the
// backend answers, or its refusal, is what the agent sees.
func TestBackendCall(t *testing.T) {
	sdk.SetNativeBackend(func(name string, req []byte) ([]byte, error) {
		switch string(req) {
		case `{"key":"a"}`:
			return []byte(`{"value":42}`), nil
		case `plain`:
			return []byte("not json"), nil
		}
		return nil, &sdk.BackendError{Status: abi.StatusBadRequest, Message: "no such key"}
	})
	defer sdk.SetNativeBackend(nil)
	n := load(t, `const env = {
  spec: {name: "kv", version: "1.0.0", description: "x", tasks: 1, backends: ["kv"]},
  reset(ep) { return {messages: [{role: "user", content: "go"}], tools: [
    {name: "get", parameters: {type: "object", properties: {k: {type: "string"}}, required: ["k"]},
     handler(args) { return args.k === "plain" ? backend("kv/get", "plain") : backend("kv/get", {key: args.k}).value }}]} },
  score() { return 0 },
};`)
	spec, err := n.Spec()
	if err != nil || len(spec.Backends) != 1 || spec.Backends[0] != "kv" {
		t.Fatalf("spec %+v, %v: want backends [kv]", spec, err)
	}
	reset(t, n, 1, 0)
	for _, tc := range []struct{ k, want string }{
		{"a", "42"},
		{"plain", "not json"},
		{"b", "no such key"},
	} {
		res, err := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
			Function: abi.FunctionCall{Name: "get", Arguments: `{"k":"` + tc.k + `"}`}}}})
		if err != nil || len(res.Messages) != 1 || !strings.Contains(res.Messages[0].Content, tc.want) {
			t.Errorf("get %s: %+v, %v; want a tool message containing %q", tc.k, res, err, tc.want)
		}
	}
}
