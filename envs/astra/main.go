// Command astra runs imported ASTRA tasks (docs/astra.md). It is data-driven:
// one module serves every import, and the task set written by
// `terrarium import astra` (data/tasks.json of the pack) arrives as its
// configuration blob. Each task offers the record's tools, answers a call
// whose arguments match a verified call with the recorded output, and
// scores the episode with ASTRA's reward (package task).
//
// The built module is committed as module/astra.wasm; see module/module.go
// for how it is built and checked.
package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/sdk"
)

// set is the configured task set; one per instance.
var set *task.Set

func init() {
	sdk.OnConfigure(configure)
	sdk.Register(func() sdk.Env { return new(env) })
}

func main() {}

func configure(b []byte) error {
	s, err := task.Open(b)
	if err != nil {
		return err
	}
	set = s
	reserveHeap()
	return nil
}

// headroomBytes is heap the runner sets aside, free, before the host takes
// its post-configuration snapshot.
const headroomBytes = 8 << 20

// sink keeps reserveHeap's allocation from being optimized away.
var sink []byte

// reserveHeap grows the Go heap by headroomBytes and frees it again. The
// host restores every episode from a snapshot of the instance's memory and
// recycles the instance only when the episode did not grow that memory;
// with free heap in the snapshot, an episode's allocations fit without
// growing it, and the instance is reused instead of instantiated anew.
func reserveHeap() {
	sink = make([]byte, headroomBytes)
	sink[len(sink)-1] = 1
	sink = nil
	runtime.GC()
}

// NoRecord is the tool error for a well-formed call that matches no verified
// call. It does not repeat the arguments, so that no call can make a
// sub-answer appear in its own result.
const NoRecord = "no record for these arguments"

type env struct {
	t        *task.Task
	plan     [][]int
	answered []bool
}

func (e *env) Spec() abi.Spec {
	if set == nil {
		panic("astra: no task set configured: load this module with its pack's data/tasks.json as configuration")
	}
	return abi.Spec{Name: set.Name, Version: set.Version, Description: set.Description,
		Tasks: set.Count, MaxTurns: set.MaxTurns}
}

func (e *env) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	t, err := set.Task(ep.Task)
	if err != nil {
		return nil, err
	}
	tools, err := e.offer(t, func(j int) { e.answered[j] = true })
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.UUID, err)
	}
	e.t, e.plan, e.answered = t, task.Plan(t), make([]bool, len(t.Calls))
	if set.Distractors > 0 {
		d, err := distractors(ep, t, set.Distractors)
		if err != nil {
			return nil, fmt.Errorf("task %s: distractors: %w", t.UUID, err)
		}
		tools = append(tools, d...)
		for i := len(tools) - 1; i > 0; i-- { // Fisher-Yates, drawn as intn
			j := intn(ep, i+1)
			tools[i], tools[j] = tools[j], tools[i]
		}
	}
	return &sdk.Start{
		Messages: []abi.Message{{Role: abi.RoleUser, Content: t.Question}},
		Tools:    tools,
	}, nil
}

// offer makes the SDK tools of task t, answering from its verified calls;
// hit is told which call answered.
func (e *env) offer(t *task.Task, hit func(call int)) ([]*sdk.Tool, error) {
	table, err := task.NewTable(t)
	if err != nil {
		return nil, err
	}
	tools := make([]*sdk.Tool, 0, len(t.Tools))
	for _, tl := range t.Tools {
		name := tl.Name
		tools = append(tools, &sdk.Tool{
			Name: name, Description: tl.Description, Schema: tl.Parameters,
			Handler: func(ep *sdk.Episode, args json.RawMessage) (any, error) {
				j := table.LookupDecoded(name, args, ep.Arguments)
				if j < 0 {
					return nil, &sdk.ToolError{Message: NoRecord}
				}
				if hit != nil {
					hit(j)
				}
				return t.Calls[j].Answer, nil
			},
		})
	}
	return tools, nil
}

// distractors picks k tools of other tasks from t's candidate bands: bands
// are visited round-robin (near, mid, far, near...), one tool each, drawn
// uniformly with ep.Rand among the band's remaining candidates; a candidate
// whose name equals a real tool's or an already chosen one's is passed
// over. A distractor answers its own record's verified calls.
func distractors(ep *sdk.Episode, t *task.Task, k int) ([]*sdk.Tool, error) {
	taken := map[string]bool{}
	for _, tl := range t.Tools {
		taken[tl.Name] = true
	}
	bands := make([][]task.ToolRef, len(t.Distractors))
	for i, b := range t.Distractors {
		bands[i] = append([]task.ToolRef(nil), b...)
	}
	loaded := map[int]*task.Task{}
	var out []*sdk.Tool
	for progress := true; len(out) < k && progress; {
		progress = false
		for b := range bands {
			for len(out) < k && len(bands[b]) > 0 {
				i := intn(ep, len(bands[b]))
				ref := bands[b][i]
				bands[b] = append(bands[b][:i], bands[b][i+1:]...)
				other, ok := loaded[ref.Task]
				if !ok {
					o, err := set.Task(ref.Task)
					if err != nil {
						return nil, err
					}
					other, loaded[ref.Task] = o, o
				}
				if ref.Tool < 0 || ref.Tool >= len(other.Tools) {
					return nil, fmt.Errorf("task %d has no tool %d", ref.Task, ref.Tool)
				}
				name := other.Tools[ref.Tool].Name
				if taken[name] {
					continue
				}
				taken[name] = true
				tools, err := (&env{}).offer(other, nil)
				if err != nil {
					return nil, err
				}
				out = append(out, tools[ref.Tool])
				progress = true
				break
			}
		}
	}
	return out, nil
}

// intn draws a uniform int in [0, n) as floor(Float64()·n). Every draw of
// the runner goes through it, so that a JavaScript port of the runner
// (`terrarium import astra --kind js`), whose Math.random is the same
// stream of Float64s, draws Math.floor(Math.random()*n) and offers the
// same tools in the same order.
func intn(ep *sdk.Episode, n int) int {
	return min(int(ep.Rand.Float64()*float64(n)), n-1)
}

func (e *env) Score(ep *sdk.Episode) (abi.Score, error) {
	final, has := ep.FinalAnswer()
	r, c := task.Reward(e.t, set.Mode, task.Outcome{
		Results: ep.ToolResults(), Calls: ep.Calls, Final: final, HasFinal: has})
	return abi.Score{Reward: r, Components: c}, nil
}

// Oracle issues the verified calls level by level (task.Plan), then answers
// the gold final answer.
func (e *env) Oracle(ep *sdk.Episode) (abi.Message, error) {
	next := task.Next(e.plan, func(j int) bool { return e.answered[j] })
	if next == nil {
		return abi.Message{Role: abi.RoleAssistant, Content: e.t.FinalAnswer}, nil
	}
	m := abi.Message{Role: abi.RoleAssistant}
	for _, j := range next {
		c := e.t.Calls[j]
		m.ToolCalls = append(m.ToolCalls, abi.ToolCall{
			ID: fmt.Sprintf("oracle_%d_%d", ep.Turn+1, j), Type: "function",
			Function: abi.FunctionCall{Name: c.Tool, Arguments: string(c.Arguments)},
		})
	}
	return m, nil
}
