// Package sdk is what an environment author imports to write a Terrarium
// environment in Go. The author implements Env (three methods, like a
// Gymnasium environment), declares tools with JSON Schemas, and registers a
// constructor from init:
//
//	func init() { sdk.Register(func() sdk.Env { return new(bank) }) }
//	func main() {}
//
// and builds the package as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bank.wasm .
//
// (terrarium run and terrarium env test do this for an env directory.)
//
// The SDK does the ABI glue (docs/abi.md): it parses actions, validates tool
// arguments against their schemas and turns bad calls into tool errors the
// agent can read, hands the author a per-episode seeded RNG, recovers panics
// into env failures, and encodes replies deterministically.
//
// # Notes
//
//   - A new Env value is made for every episode, so state kept in the Env
//     never leaks from one episode into the next.
//   - Everything an env does must be a function of the seed, the task and the
//     actions: use Episode.Rand, never the clock or global randomness. Go map
//     iteration order is randomized per process: sort keys before emitting
//     them (encoding/json already sorts map keys).
//   - The package also builds for the host, where NewNative runs an env
//     in-process without WebAssembly, for unit tests and as a benchmark floor.
package sdk

import (
	"errors"
	"math/rand/v2"

	"github.com/terrarium-rl/terrarium/abi"
)

// Env is an environment. Reset starts an episode, Score grades it. Tools
// declared by Reset answer the agent's tool calls in between.
type Env interface {
	// Spec describes the environment. It must not depend on the episode.
	Spec() abi.Spec
	// Reset starts the episode ep (ep.Seed, ep.Task, ep.Rand are set) and
	// returns the opening messages and the tools offered in it.
	Reset(ep *Episode) (*Start, error)
	// Score grades the episode so far. It is called when the episode ends
	// (the agent answered, a tool called ep.End, or the host's turn limit
	// was reached) and may be called earlier. Reward must be in [0,1].
	Score(ep *Episode) (abi.Score, error)
}

// Oracle is implemented by environments that ship a reference solution. It
// returns the next action the reference solution takes in the episode's
// current state; a message without tool calls is its final answer. It must
// not change the episode's state.
type Oracle interface {
	Oracle(ep *Episode) (abi.Message, error)
}

// Start is what Reset returns.
type Start struct {
	// Messages open the episode, typically a system and a user message.
	Messages []abi.Message
	// Tools are offered to the agent in this episode, in this order.
	Tools []*Tool
}

// Episode is one run of an environment. The SDK owns it; the env reads it
// and may call End.
type Episode struct {
	// Seed and Task are the arguments of reset.
	Seed uint64
	Task int
	// Rand is a generator seeded from (Seed, Task). It is the only source of
	// randomness an env should use.
	Rand *rand.Rand
	// Turn counts the actions stepped so far.
	Turn int
	// Calls counts the tool calls made so far, failed ones included.
	Calls int

	final    string
	hasFinal bool
	ended    bool
	results  []string
	argsJSON string         // the arguments of the call being handled
	args     map[string]any // argsJSON decoded, once asked for
}

// End ends the episode after the current step (for example from a "submit"
// tool).
func (ep *Episode) End() { ep.ended = true }

// Ended reports whether the episode has ended.
func (ep *Episode) Ended() bool { return ep.ended }

// Arguments returns the arguments of the tool call being handled, decoded
// as encoding/json decodes a JSON object into an any with UseNumber
// (numbers are json.Number). The SDK may have decoded them already to
// validate them, so a handler that needs them as values should ask for them
// here rather than decode its json.RawMessage again. It is nil outside a
// Handler call. The handler must not modify it.
func (ep *Episode) Arguments() map[string]any {
	if ep.args == nil && ep.argsJSON != "" {
		v, _ := decodeArguments(ep.argsJSON) // valid: it passed validation
		ep.args, _ = v.(map[string]any)
	}
	return ep.args
}

// FinalAnswer returns the content of the agent's final message (an assistant
// message without tool calls), if it gave one.
func (ep *Episode) FinalAnswer() (string, bool) { return ep.final, ep.hasFinal }

// ToolResults returns the content of every successful tool result returned
// in the episode so far, in order. Reward rules such as ASTRA's ("the
// sub-answer appears in a tool result") are written against it.
func (ep *Episode) ToolResults() []string { return ep.results }

// ToolError is returned by a tool handler to tell the agent that its call
// failed (unknown account, out of stock...). The message is shown to the
// agent as the tool result; the episode goes on. Any other error returned by
// a handler is treated the same way; ToolError exists to make intent plain.
type ToolError struct{ Message string }

func (e *ToolError) Error() string { return e.Message }

// Errorf-style constructor for tool errors.
func Errorf(format string, args ...any) error { return &ToolError{Message: sprintf(format, args...)} }

var (
	// ErrNotRegistered is reported when a module built with the SDK has no
	// registered Env (Register was not called from init).
	ErrNotRegistered = errors.New("sdk: no environment registered (call sdk.Register from init)")
)

var registered func() Env

// Register sets the constructor of the module's environment. Call it once,
// from an init function of package main.
func Register(newEnv func() Env) {
	if registered != nil {
		panic("sdk: Register called twice")
	}
	registered = newEnv
}

// configureHook is set by OnConfigure.
var configureHook func(config []byte) error

// OnConfigure sets a function that receives the host's configuration blob
// (terrarium_configure) before the spec is read. Runners that host another
// language (the JavaScript runner) receive their script this way. Most
// environments do not need it.
func OnConfigure(fn func(config []byte) error) { configureHook = fn }
