package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/terrarium-rl/terrarium/abi"
)

// Policy chooses actions. Start is called once per episode and returns the
// Agent that plays it; agents of different episodes may run concurrently.
type Policy interface {
	// Name identifies the policy in trajectories ("oracle", "random"...).
	Name() string
	Start(ctx context.Context, ep EpisodeInfo) (Agent, error)
}

// Agent plays one episode.
type Agent interface {
	// Act returns the next assistant message given the conversation so far.
	// A message without tool calls is the final answer.
	Act(ctx context.Context, messages []abi.Message) (abi.Message, error)
}

// AgentFunc adapts a function to Agent.
type AgentFunc func(ctx context.Context, messages []abi.Message) (abi.Message, error)

// Act calls f.
func (f AgentFunc) Act(ctx context.Context, m []abi.Message) (abi.Message, error) { return f(ctx, m) }

// EpisodeInfo is what a policy knows about an episode when it starts.
type EpisodeInfo struct {
	Index int
	Seed  uint64
	Task  int
	Tools []abi.Tool
	// Oracle asks the environment's reference solution for the next action;
	// nil when the environment ships none.
	Oracle func(ctx context.Context) (*abi.Message, error)
}

// ErrPolicy is wrapped by errors a policy returns about its own failures.
var ErrPolicy = errors.New("policy failed")

// NullPolicy answers at once with an empty final answer. Every environment
// should score it 0: the conformance checker uses it to catch rewards given
// for nothing.
func NullPolicy() Policy { return nullPolicy{} }

type nullPolicy struct{}

func (nullPolicy) Name() string { return "null" }
func (nullPolicy) Start(context.Context, EpisodeInfo) (Agent, error) {
	return AgentFunc(func(context.Context, []abi.Message) (abi.Message, error) {
		return abi.Message{Role: abi.RoleAssistant, Content: ""}, nil
	}), nil
}

// OraclePolicy plays the environment's reference solution.
func OraclePolicy() Policy { return oraclePolicy{} }

type oraclePolicy struct{}

func (oraclePolicy) Name() string { return "oracle" }
func (oraclePolicy) Start(_ context.Context, ep EpisodeInfo) (Agent, error) {
	if ep.Oracle == nil {
		return nil, fmt.Errorf("%w: the environment has no oracle", ErrPolicy)
	}
	return AgentFunc(func(ctx context.Context, _ []abi.Message) (abi.Message, error) {
		m, err := ep.Oracle(ctx)
		if err != nil {
			return abi.Message{}, err
		}
		return *m, nil
	}), nil
}

// RandomPolicy calls random offered tools with arguments drawn from their
// schemas, and sometimes answers at random, all seeded from the episode's
// seed, task and index: the same episode gets the same actions. It exercises environments'
// argument handling and gives a reward baseline.
func RandomPolicy() Policy { return randomPolicy{} }

type randomPolicy struct{}

func (randomPolicy) Name() string { return "random" }
func (randomPolicy) Start(_ context.Context, ep EpisodeInfo) (Agent, error) {
	// The episode index is mixed in so that the members of a group (same
	// seed and task) play differently.
	r := rand.New(rand.NewPCG(ep.Seed, uint64(ep.Task)<<32^uint64(ep.Index)^0x72616e646f6d))
	turn := 0
	return AgentFunc(func(context.Context, []abi.Message) (abi.Message, error) {
		turn++
		if len(ep.Tools) == 0 || r.IntN(8) == 0 {
			return abi.Message{Role: abi.RoleAssistant, Content: randomWord(r)}, nil
		}
		n := 1 + r.IntN(2)
		m := abi.Message{Role: abi.RoleAssistant}
		for i := 0; i < n; i++ {
			t := ep.Tools[r.IntN(len(ep.Tools))]
			var schema map[string]any
			_ = json.Unmarshal(t.Function.Parameters, &schema)
			args, _ := json.Marshal(randomValue(r, schema, 0))
			m.ToolCalls = append(m.ToolCalls, abi.ToolCall{
				ID: fmt.Sprintf("call_%d_%d", turn, i), Type: "function",
				Function: abi.FunctionCall{Name: t.Function.Name, Arguments: string(args)},
			})
		}
		return m, nil
	}), nil
}

var words = []string{"alpha", "bravo", "checking", "savings", "paris", "42", "ethanol", "acme", "unknown", "yes"}

func randomWord(r *rand.Rand) string { return words[r.IntN(len(words))] }

// randomValue draws a value for a JSON Schema: mostly valid, sometimes not,
// since a policy under training produces both.
func randomValue(r *rand.Rand, s map[string]any, depth int) any {
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 && r.IntN(10) > 0 {
		return enum[r.IntN(len(enum))]
	}
	typ, _ := s["type"].(string)
	if depth > 3 {
		typ = "string"
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names) // map order must not decide the draw
		for _, k := range names {
			if r.IntN(5) == 0 {
				continue
			}
			ps, _ := props[k].(map[string]any)
			out[k] = randomValue(r, ps, depth+1)
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		n := r.IntN(3)
		out := make([]any, n)
		for i := range out {
			out[i] = randomValue(r, items, depth+1)
		}
		return out
	case "integer":
		return r.IntN(2000) - 100
	case "number":
		return float64(r.IntN(200000)-10000) / 100
	case "boolean":
		return r.IntN(2) == 0
	default:
		return strings.ToUpper(randomWord(r)[:1]) + randomWord(r)[1:]
	}
}

// ReplayPolicy replays the assistant messages recorded in trajectories:
// episode i plays the actions of the record with Episode == i, which must
// have the same seed and task.
func ReplayPolicy(records []*Trajectory) Policy {
	byEp := make(map[int]*Trajectory, len(records))
	for _, t := range records {
		byEp[t.Episode] = t
	}
	return replayPolicy{byEp}
}

type replayPolicy struct{ byEp map[int]*Trajectory }

func (replayPolicy) Name() string { return "replay" }
func (p replayPolicy) Start(_ context.Context, ep EpisodeInfo) (Agent, error) {
	t := p.byEp[ep.Index]
	if t == nil {
		return nil, fmt.Errorf("%w: no recorded episode %d", ErrPolicy, ep.Index)
	}
	if t.Seed != ep.Seed || t.Task != ep.Task {
		return nil, fmt.Errorf("%w: recorded episode %d has seed %d task %d, this one seed %d task %d",
			ErrPolicy, ep.Index, t.Seed, t.Task, ep.Seed, ep.Task)
	}
	var acts []abi.Message
	for _, m := range t.Messages {
		if m.Role == abi.RoleAssistant {
			acts = append(acts, m)
		}
	}
	next := 0
	return AgentFunc(func(context.Context, []abi.Message) (abi.Message, error) {
		if next >= len(acts) {
			return abi.Message{}, fmt.Errorf("%w: recorded episode %d has only %d actions", ErrPolicy, ep.Index, len(acts))
		}
		next++
		return acts[next-1], nil
	}), nil
}

// Builtin returns a built-in policy by name: oracle, random or null.
// Replay policies need their records: use ReplayPolicy.
func Builtin(name string) (Policy, error) {
	switch name {
	case "oracle":
		return OraclePolicy(), nil
	case "random":
		return RandomPolicy(), nil
	case "null":
		return NullPolicy(), nil
	}
	return nil, fmt.Errorf("unknown policy %q (want oracle, random, null or replay:FILE)", name)
}
