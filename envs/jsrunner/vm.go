package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

const (
	// scriptName is what stack traces and syntax errors call the script.
	scriptName = "env.js"

	// MaxCallDepth bounds the JavaScript call stack, like Python's
	// recursion limit. Exceeding it throws an uncatchable error, which ends
	// the episode as an env failure. The bound is low because of how that
	// error unwinds: calls through built-ins (Array.prototype.map, replace
	// with a callback, getters, toJSON) recurse on the Go stack, and goja
	// re-panics at every such level; in wasm the unwinding cost grows
	// steeply with depth (measured: 0.5 s at 500 frames, 2 s at 800, 5 s
	// at 1000), and must stay far below the host's step timeout. Plain
	// JavaScript recursion unwinds in milliseconds at any depth.
	MaxCallDepth = 500

	// virtualEpochMS is what Date.now() returns at the start of every
	// episode: 2025-01-01T00:00:00Z, the host's virtual epoch.
	virtualEpochMS = int64(1735689600) * 1000
)

// envRef reads the script's env binding, whether declared with var, let,
// const or a bare assignment, without throwing when it is missing.
var envRef = goja.MustCompile("env-ref", "typeof env === 'undefined' ? undefined : env", false)

// script is a compiled environment script and what was learned from its
// first run.
type script struct {
	prog      *goja.Program
	spec      abi.Spec
	hasOracle bool
	// spares have run the program and served no episode yet.
	spares []*vm
}

// prepared is how many runtimes configure prepares. A host that snapshots
// instances (package runtime does) runs one warm-up reset after configure
// and then starts every episode from the snapshot: with two runtimes ready,
// the warm-up takes one and the snapshot keeps the other, so an episode's
// reset runs the script's reset at once, with no goja setup. A host that
// does not snapshot pays for one unused runtime per instance (about a
// millisecond).
const prepared = 2

func compile(src string) (*script, error) {
	prog, err := goja.Compile(scriptName, src, false)
	if err != nil {
		return nil, err
	}
	s := &script{prog: prog}
	v, err := s.newVM()
	if err != nil {
		return nil, err
	}
	b, err := v.toJSON(v.env.Get("spec"))
	if err != nil {
		return nil, fmt.Errorf("env.spec: %w", err)
	}
	if err := decodeStrict(b, &s.spec); err != nil {
		return nil, fmt.Errorf("env.spec: %w", err)
	}
	s.hasOracle = v.oracle != nil
	s.spares = append(s.spares, v)
	for len(s.spares) < prepared {
		v, err := s.newVM()
		if err != nil {
			return nil, err
		}
		s.spares = append(s.spares, v)
	}
	return s, nil
}

// take returns a runtime that has run the script and served no episode,
// so that no JavaScript state outlives its episode.
func (s *script) take() (*vm, error) {
	if n := len(s.spares); n > 0 {
		v := s.spares[n-1]
		s.spares[n-1] = nil
		s.spares = s.spares[:n-1]
		return v, nil
	}
	return s.newVM()
}

// vm is one goja runtime that has run the script.
type vm struct {
	rt                   *goja.Runtime
	env                  *goja.Object
	reset, score, oracle goja.Callable
	// stringify and parse are the built-in JSON functions, taken before the
	// script runs so that it cannot replace them.
	stringify, parse goja.Callable

	// rand backs Math.random: a fixed stream while the script loads, the
	// episode's generator after reset.
	rand *rand.Rand
	// clockMS is the virtual time since virtualEpochMS. Every read of the
	// clock advances it by one millisecond, so that timestamps taken in a
	// row differ and order, yet depend only on what the script did.
	clockMS int64
}

func (s *script) newVM() (*vm, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(MaxCallDepth)
	v := &vm{rt: rt, rand: rand.New(rand.NewPCG(0, 0))}
	rt.SetRandSource(func() float64 { return v.rand.Float64() })
	rt.SetTimeSource(v.now)
	jsonObj := rt.Get("JSON").ToObject(rt)
	v.stringify, _ = goja.AssertFunction(jsonObj.Get("stringify"))
	v.parse, _ = goja.AssertFunction(jsonObj.Get("parse"))
	v.installConsole()
	v.installBackend()

	if _, err := rt.RunProgram(s.prog); err != nil {
		return nil, fmt.Errorf("run %s: %s", scriptName, describe(err))
	}
	ref, err := rt.RunProgram(envRef)
	if err != nil {
		return nil, fmt.Errorf("read env: %s", describe(err))
	}
	obj, ok := ref.(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("%s does not define env (declare `const env = {spec, reset, score}`; see docs/js-env.md)", scriptName)
	}
	v.env = obj
	if err := checkKeys(obj, "env", "spec", "reset", "score", "oracle"); err != nil {
		return nil, err
	}
	if spec, ok := obj.Get("spec").(*goja.Object); !ok || spec == nil {
		return nil, errors.New("env.spec is not an object")
	}
	if v.reset, ok = goja.AssertFunction(obj.Get("reset")); !ok {
		return nil, errors.New("env.reset is not a function")
	}
	if v.score, ok = goja.AssertFunction(obj.Get("score")); !ok {
		return nil, errors.New("env.score is not a function")
	}
	if o := obj.Get("oracle"); o != nil && !goja.IsUndefined(o) {
		if v.oracle, ok = goja.AssertFunction(o); !ok {
			return nil, errors.New("env.oracle is not a function")
		}
	}
	return v, nil
}

// startEpisode points Math.random at the episode's generator and restarts
// the clock, so that nothing done while loading decides what the episode
// sees.
func (v *vm) startEpisode(r *rand.Rand) {
	v.rand = r
	v.clockMS = 0
}

// aside runs fn (score or oracle) with Math.random and Date set aside:
// they work, but draw from a generator and a clock of their own, so that
// asking for a score or the oracle's next action (which the host may do any
// number of times, or not at all) never changes what the episode itself
// draws and reads, and a replay of the actions alone reproduces it.
func (v *vm) aside(ep *sdk.Episode, fn func()) {
	r, clock := v.rand, v.clockMS
	v.rand = rand.New(rand.NewPCG(ep.Seed, ^uint64(ep.Task)))
	defer func() { v.rand, v.clockMS = r, clock }()
	fn()
}

func (v *vm) now() time.Time {
	t := time.UnixMilli(virtualEpochMS + v.clockMS).UTC()
	v.clockMS++
	return t
}

// installConsole gives scripts console.log and friends, which write to the
// episode's log (bounded by the host's output limit).
func (v *vm) installConsole() {
	console := v.rt.NewObject()
	for name, level := range map[string]int{
		"debug": sdk.LevelDebug, "log": sdk.LevelInfo, "info": sdk.LevelInfo,
		"warn": sdk.LevelWarn, "error": sdk.LevelError,
	} {
		level := level
		_ = console.Set(name, func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = v.show(a)
			}
			sdk.Logf(level, "%s", strings.Join(parts, " "))
			return goja.Undefined()
		})
	}
	_ = v.rt.Set("console", console)
}

// installBackend gives scripts backend(name, request), which calls an
// operation of a tool backend the host granted ("BACKEND/OP", declared in
// spec.backends; docs/abi.md, section 5). The request is sent as JSON (a
// string as it is); the response comes back parsed when it is JSON, else as
// a string. A refusal, or a backend not granted, throws an Error, which in
// a tool handler becomes a tool error.
func (v *vm) installBackend() {
	_ = v.rt.Set("backend", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		var req []byte
		switch arg := call.Argument(1); {
		case goja.IsUndefined(arg):
		case isString(arg):
			req = []byte(arg.String())
		default:
			b, err := v.toJSON(arg)
			if err != nil {
				panic(v.rt.NewGoError(fmt.Errorf("backend %s: request: %w", name, err)))
			}
			req = b
		}
		resp, err := sdk.CallBackend(name, req)
		if err != nil {
			panic(v.rt.NewGoError(err))
		}
		if json.Valid(resp) {
			if out, err := v.parse(goja.Undefined(), v.rt.ToValue(string(resp))); err == nil {
				return out
			}
		}
		return v.rt.ToValue(string(resp))
	})
}

func isString(val goja.Value) bool {
	_, ok := val.Export().(string)
	return ok
}

// show renders a value for console output: strings as they are, objects as
// JSON when they can be.
func (v *vm) show(val goja.Value) string {
	if o, ok := val.(*goja.Object); ok && o.ClassName() != "Error" && o.ClassName() != "Function" {
		if b, err := v.toJSON(o); err == nil {
			return string(b)
		}
	}
	return val.String()
}

// toJSON encodes a value with the script's own JSON.stringify. undefined
// (and functions) encode as null.
func (v *vm) toJSON(val goja.Value) ([]byte, error) {
	if val == nil {
		return []byte("null"), nil
	}
	out, err := v.stringify(goja.Undefined(), val)
	if err != nil {
		return nil, errors.New(describe(err))
	}
	if goja.IsUndefined(out) {
		return []byte("null"), nil
	}
	return []byte(out.String()), nil
}

// fromJSON decodes JSON text into a JavaScript value.
func (v *vm) fromJSON(b []byte) (goja.Value, error) {
	out, err := v.parse(goja.Undefined(), v.rt.ToValue(string(b)))
	if err != nil {
		return nil, errors.New(describe(err))
	}
	return out, nil
}

// decodeStrict decodes b into x, refusing unknown fields so that a typo in a
// script (maxTurns for max_turns) is reported rather than ignored.
func decodeStrict(b []byte, x any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(x)
}

// checkKeys refuses own properties of o outside allowed, for the same
// reason as decodeStrict.
func checkKeys(o *goja.Object, what string, allowed ...string) error {
	for _, k := range o.Keys() {
		found := false
		for _, a := range allowed {
			found = found || k == a
		}
		if !found {
			return fmt.Errorf("%s has unknown property %q (want %s)", what, k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// settle unwraps a promise returned by an async function. goja runs
// pending jobs before a call returns, so a promise that depends on nothing
// outside the script has settled by then; one still pending never will.
func settle(val goja.Value, err error) (goja.Value, error) {
	if err != nil {
		return nil, err
	}
	// ExportType, unlike Export, converts nothing.
	o, ok := val.(*goja.Object)
	if !ok || o.ExportType() != promiseType {
		return val, nil
	}
	p := o.Export().(*goja.Promise)
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		return nil, &rejection{p.Result()}
	}
	return nil, errors.New("the returned promise never settled (there are no timers or I/O to wait for)")
}

var promiseType = reflect.TypeFor[*goja.Promise]()

// rejection is a rejected promise's reason, treated like a thrown value.
type rejection struct{ val goja.Value }

func (r *rejection) Error() string { return "promise rejected: " + r.val.String() }

// thrown returns the value a script threw (or rejected with), or false
// for uncatchable errors (stack overflow) and anything else.
func thrown(err error) (goja.Value, bool) {
	var ex *goja.Exception
	var rej *rejection
	var so *goja.StackOverflowError
	var ie *goja.InterruptedError
	switch {
	case errors.As(err, &so), errors.As(err, &ie):
		return nil, false
	case errors.As(err, &ex):
		return ex.Value(), ex.Value() != nil
	case errors.As(err, &rej):
		return rej.val, true
	}
	return nil, false
}

// describe renders an error from goja for the host: the thrown value and
// where it was thrown.
func describe(err error) string {
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return fmt.Sprintf("JavaScript call stack exceeded %d frames%s", MaxCallDepth, where(so.Stack()))
	}
	return err.Error()
}

func where(stack []goja.StackFrame) string {
	if len(stack) == 0 {
		return ""
	}
	var b bytes.Buffer
	stack[0].Write(&b)
	return " at " + b.String()
}

// message is what the agent reads when a tool handler throws val: the
// message of a plain Error, "Name: message" of other errors, JSON of other
// objects, and the string form of anything else.
func (v *vm) message(val goja.Value) string {
	o, ok := val.(*goja.Object)
	if !ok {
		return val.String()
	}
	if o.ClassName() == "Error" {
		if name := o.Get("name"); name != nil && name.String() == "Error" {
			return o.Get("message").String()
		}
		return val.String()
	}
	if b, err := v.toJSON(o); err == nil {
		return string(b)
	}
	return val.String()
}
