package astra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// TestKindsAgree plays the same episodes on both output kinds of one
// import, the Go runner and the JavaScript env, and requires the same
// bytes: the opening observation (tools, in order, with their distractors),
// every step's reply, the oracle's actions and the score. The actions come
// from a seeded agent that mixes verified calls written the ways agents
// write them (keys reordered, case and space changed, defaults spelled out
// or left out, numbers as 2 or 2.0), calls with other arguments, calls to
// distractors, malformed and unknown calls, the oracle's own actions and
// final answers right and wrong, so every path of matching and reward runs
// on both.
func TestKindsAgree(t *testing.T) {
	big := filepath.Join(t.TempDir(), "gen.jsonl")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	genRecords(t, f, 80)
	f.Close()
	cases := []struct {
		name     string
		opts     Options
		files    []string
		episodes int // per task
	}{
		{"sample", Options{}, []string{samplePath, "testdata/records.jsonl"}, 24},
		{"distractors-f1*final", Options{Distractors: 3, Mode: task.ModeF1Final}, []string{samplePath, "testdata/records.jsonl"}, 24},
		{"generated-final", Options{Distractors: 5, Mode: task.ModeFinal}, []string{big}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, goEnv := importKind(t, KindGo, c.opts, c.files...)
			_, jsEnv := importKind(t, KindJS, c.opts, c.files...)
			if g, j := goEnv.Spec(), jsEnv.Spec(); !equalJSON(t, g, j) {
				t.Fatalf("specs differ:\ngo %+v\njs %+v", g, j)
			}
			played := 0
			for i := range res.Tasks {
				for seed := uint64(0); seed < uint64(c.episodes); seed++ {
					g := playAgent(t, goEnv, res, seed, i)
					j := playAgent(t, jsEnv, res, seed, i)
					if !bytes.Equal(g, j) {
						t.Fatalf("task %d seed %d: episodes differ\n%s", i, seed, firstDiff(g, j))
					}
					played++
				}
			}
			t.Logf("%d episodes agree", played)
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// firstDiff shows the first line where two transcripts differ.
func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("line %d:\ngo %s\njs %s", i, x, y)
		}
	}
	return "(no difference)"
}

// playAgent plays task i with seed under a seeded agent and returns the
// transcript: one JSON line per observation, oracle answer, step result
// and score.
func playAgent(t *testing.T, env *trt.Env, res *Result, seed uint64, i int) []byte {
	t.Helper()
	ctx := context.Background()
	ep, obs, err := env.Start(ctx, seed, i)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	var tr bytes.Buffer
	line := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		tr.Write(b)
		tr.WriteByte('\n')
	}
	line(obs)
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	offered := map[string]bool{}
	for _, tl := range obs.Tools {
		offered[tl.Function.Name] = true
	}
	calls := callsByTool(res)
	for turn := 0; turn < 8 && !ep.Done(); turn++ {
		var act abi.Message
		switch k := rng.IntN(10); {
		case k < 3:
			m, err := ep.Oracle(ctx)
			if err != nil {
				t.Fatal(err)
			}
			line(m)
			act = *m
		case k < 8:
			act = abi.Message{Role: abi.RoleAssistant}
			for n := 1 + rng.IntN(3); n > 0; n-- {
				name, args := agentCall(rng, obs.Tools, calls)
				act.ToolCalls = append(act.ToolCalls, abi.ToolCall{ID: fmt.Sprintf("c%d_%d", turn, n), Type: "function",
					Function: abi.FunctionCall{Name: name, Arguments: args}})
			}
		default:
			act = abi.Message{Role: abi.RoleAssistant, Content: agentAnswer(rng, res.Tasks[i].FinalAnswer)}
		}
		r, err := ep.Step(ctx, act)
		if err != nil {
			t.Fatalf("task %d seed %d turn %d: step: %v", i, seed, turn, err)
		}
		line(r)
		s, err := ep.Score(ctx) // mid-episode too: it must not disturb the episode
		if err != nil {
			t.Fatal(err)
		}
		line(s)
	}
	return tr.Bytes()
}

type verified struct {
	args     json.RawMessage
	defaults map[string]any
}

// callsByTool indexes every verified call of the import by tool name.
func callsByTool(res *Result) map[string][]verified {
	out := map[string][]verified{}
	for _, tk := range res.Tasks {
		for _, c := range tk.Calls {
			var d map[string]any
			for _, tl := range tk.Tools {
				if tl.Name == c.Tool {
					d, _ = task.Defaults(tl.Parameters)
				}
			}
			out[c.Tool] = append(out[c.Tool], verified{c.Arguments, d})
		}
	}
	return out
}

// agentCall makes one tool call as an agent might.
func agentCall(rng *rand.Rand, tools []abi.Tool, calls map[string][]verified) (string, string) {
	switch rng.IntN(12) {
	case 0:
		return "no_such_tool", `{}`
	case 1:
		return tools[rng.IntN(len(tools))].Function.Name, `{"truncated":`
	case 2:
		return tools[rng.IntN(len(tools))].Function.Name, `[1,2]`
	}
	name := tools[rng.IntN(len(tools))].Function.Name
	vs := calls[name]
	if len(vs) == 0 {
		return name, `{}`
	}
	v := vs[rng.IntN(len(vs))]
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(v.args))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		panic(err)
	}
	for _, k := range sortedKeys(v.defaults) { // spell out or leave out defaults
		d := v.defaults[k]
		if rng.IntN(2) == 0 {
			if _, ok := m[k]; !ok {
				m[k] = d
			}
		} else if fmt.Sprint(m[k]) == fmt.Sprint(d) {
			delete(m, k)
		}
	}
	if rng.IntN(6) == 0 && len(m) > 0 { // other arguments
		m[sortedKeys(m)[rng.IntN(len(m))]] = "something else"
	}
	var b strings.Builder
	writeAgentJSON(&b, rng, m)
	return name, b.String()
}

// spaces are white space Go and JavaScript disagree about (U+0085 is Go's
// and not JavaScript's, U+FEFF JavaScript's and not Go's) and some both
// agree on.
var spaces = []string{" ", "\t", "\n", "\u00a0", "\u3000", "\u0085", "\ufeff", "\u2028"}

// writeAgentJSON writes v as JSON with keys in a random order, strings
// with their case and surrounding space changed, and numbers in other
// notations.
func writeAgentJSON(b *strings.Builder, rng *rand.Rand, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := sortedKeys(x)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeAgentJSON(b, rng, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeAgentJSON(b, rng, e)
		}
		b.WriteByte(']')
	case string:
		s := x
		switch rng.IntN(5) {
		case 0:
			s = strings.ToUpper(s)
		case 1:
			s = strings.Title(s) //nolint:staticcheck // any case change will do
		}
		if rng.IntN(3) == 0 {
			s = spaces[rng.IntN(len(spaces))] + s + spaces[rng.IntN(len(spaces))]
		}
		sb, _ := json.Marshal(s)
		b.Write(sb)
	case json.Number:
		s := string(x)
		switch rng.IntN(4) {
		case 0:
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
		case 1:
			s += "e0"
		}
		b.WriteString(s)
	default:
		jb, _ := json.Marshal(x)
		b.Write(jb)
	}
}

// agentAnswer is a final answer: the gold one, inside a sentence, changed
// in case, in full-width digits, or wrong.
func agentAnswer(rng *rand.Rand, gold string) string {
	switch rng.IntN(6) {
	case 0:
		return gold
	case 1:
		return "The answer is " + strings.ToUpper(gold) + "."
	case 2:
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r + 0xFEE0
			}
			return r
		}, gold)
	case 3:
		return "我认为是" + gold + "。"
	case 4:
		if len(gold) > 1 {
			return gold[:len(gold)-1]
		}
	}
	return "I don't know"
}

// sortedKeys returns m's keys in order: the agent must draw the same
// actions in every run, and Go's map order differs between runs.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
