// Package abi holds the wire types and constants of Terrarium's environment
// ABI v1: the contract between the sandbox host (package runtime) and a guest
// WebAssembly module (written with package sdk or by hand in any language).
//
// The ABI is specified in docs/abi.md; this package is its Go rendering and
// has no dependencies, so that both the host and guests compiled to wasip1
// can import it.
//
// All payloads are JSON. Chat messages and tools use the OpenAI
// chat-completions shapes, so that trajectories can be fed to trainers and
// inference servers without conversion.
package abi

// Version is the ABI version this package describes. A guest's
// terrarium_abi_version export must return it.
const Version = 1

// ImportModule is the name of the host module that provides Terrarium's host
// functions (for example "log").
const ImportModule = "terrarium"

// Names of the guest exports. Those marked optional may be absent.
const (
	ExportABIVersion = "terrarium_abi_version"
	ExportBuffer     = "terrarium_buffer"
	ExportConfigure  = "terrarium_configure" // optional
	ExportSpec       = "terrarium_spec"
	ExportReset      = "terrarium_reset"
	ExportStep       = "terrarium_step"
	ExportScore      = "terrarium_score"
	ExportOracle     = "terrarium_oracle" // optional
	ExportResultPtr  = "terrarium_result_ptr"
	ExportResultLen  = "terrarium_result_len"
)

// Names of the host functions in ImportModule.
const (
	ImportLog = "log"
	// ImportBackendCall and ImportBackendResult are optional imports:
	// backend_call(name_ptr, name_len, req_ptr, req_len i32) -> status i32
	// and backend_result(ptr, cap i32) -> len i32 (docs/abi.md, section 5).
	ImportBackendCall   = "backend_call"
	ImportBackendResult = "backend_result"
)

// Status is what every request export returns. Zero means the reply (at
// terrarium_result_ptr/len) is the result; any other value means the reply is
// an Error.
type Status int32

const (
	// StatusOK: the reply is the call's result.
	StatusOK Status = 0
	// StatusBadRequest: the request bytes were not a valid request (not JSON,
	// wrong shape, task out of range). The episode's state is unchanged.
	StatusBadRequest Status = 1
	// StatusBadState: the call is not allowed now (step before reset, step
	// after the episode ended). The episode's state is unchanged.
	StatusBadState Status = 2
	// StatusUnsupported: an optional capability (such as the oracle) is not
	// implemented by this environment.
	StatusUnsupported Status = 3
	// StatusEnvFailure: the environment itself failed (its code returned an
	// error or panicked). The episode cannot continue.
	StatusEnvFailure Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusBadRequest:
		return "bad request"
	case StatusBadState:
		return "bad state"
	case StatusUnsupported:
		return "unsupported"
	case StatusEnvFailure:
		return "env failure"
	}
	return "unknown status"
}

// Log levels for the host function terrarium.log.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// Error is the reply of a call whose status is not StatusOK.
type Error struct {
	Error string `json:"error"`
}

// Spec describes an environment: the reply of terrarium_spec.
type Spec struct {
	// Name is the environment's identifier, lower case, for example "bank".
	Name string `json:"name"`
	// Version is a semantic version, for example "1.0.0".
	Version string `json:"version"`
	// Description says what the environment is for, in a sentence or two.
	Description string `json:"description,omitempty"`
	// Tasks is the number of tasks; reset accepts task indexes 0..Tasks-1.
	Tasks int `json:"tasks"`
	// MaxTurns is the environment's suggested turn limit; 0 means none
	// suggested, and the host's default applies.
	MaxTurns int `json:"max_turns,omitempty"`
	// Backends names the backends the environment calls through
	// terrarium.backend_call (docs/abi.md, section 5). A host grants an
	// episode only backends declared here; omitted means none.
	Backends []string `json:"backends,omitempty"`
}

// ResetRequest is the optional JSON body of terrarium_reset. Seed and task
// travel as parameters; the body is reserved for options and may be empty.
type ResetRequest struct{}

// Observation is the reply of terrarium_reset: the opening messages of the
// episode and the tools offered in it.
type Observation struct {
	Messages []Message `json:"messages"`
	Tools    []Tool    `json:"tools"`
}

// StepResult is the reply of terrarium_step: the tool messages answering the
// action's tool calls, in order, and whether the episode has ended.
type StepResult struct {
	Messages []Message `json:"messages"`
	Done     bool      `json:"done"`
}

// Score is the reply of terrarium_score. Reward is in [0,1]; Components
// names the parts it was computed from (free-form, for analysis).
type Score struct {
	Reward     float64            `json:"reward"`
	Components map[string]float64 `json:"components,omitempty"`
}

// Roles of chat messages.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is a chat message in OpenAI chat-completions format. An action
// (the request of terrarium_step) is a Message with role "assistant": with
// ToolCalls it asks for tools to run; without, its Content is the final
// answer.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is one call of an assistant message. Arguments is a JSON object
// encoded as a string, as in OpenAI's API; it may be malformed, and the
// environment must answer that with a tool error rather than fail.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall names the tool and carries its arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a tool offered to the agent, in OpenAI function format.
type Tool struct {
	Type     string   `json:"type"` // "function"
	Function Function `json:"function"`
}

// Function is a tool's name, description and JSON Schema for its arguments.
type Function struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is a JSON Schema (draft 2020-12) of type object.
	Parameters RawJSON `json:"parameters"`
}
