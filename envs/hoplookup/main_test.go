package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

func newNative() *sdk.Native { n, _ := newNativeEnv(); return n }

// newNativeEnv also returns a function giving the env of the current
// episode, so that tests can see its question.
func newNativeEnv() (*sdk.Native, func() *hoplookup) {
	var last *hoplookup
	n := sdk.NewNative(func() sdk.Env { last = new(hoplookup); return last })
	return n, func() *hoplookup { return last }
}

func reset(tb testing.TB, n *sdk.Native, seed uint64, task int) abi.Observation {
	tb.Helper()
	obs, err := n.Reset(seed, task)
	if err != nil {
		tb.Fatalf("reset(%d, %d): %v", seed, task, err)
	}
	return obs
}

// runOracle plays the oracle to the end; it returns the score and the
// oracle's actions.
func runOracle(tb testing.TB, n *sdk.Native) (abi.Score, []abi.Message) {
	tb.Helper()
	var acts []abi.Message
	for range 8 {
		act, err := n.Oracle()
		if err != nil {
			tb.Fatalf("oracle: %v", err)
		}
		acts = append(acts, act)
		res, err := n.Step(act)
		if err != nil {
			tb.Fatalf("step: %v", err)
		}
		if res.Done {
			s, err := n.Score()
			if err != nil {
				tb.Fatalf("score: %v", err)
			}
			return s, acts
		}
	}
	tb.Fatalf("oracle did not finish in 8 turns")
	return abi.Score{}, nil
}

func action(calls ...[2]string) abi.Message {
	m := abi.Message{Role: abi.RoleAssistant}
	for i, c := range calls {
		m.ToolCalls = append(m.ToolCalls, abi.ToolCall{ID: fmt.Sprint("c", i), Type: "function",
			Function: abi.FunctionCall{Name: c[0], Arguments: c[1]}})
	}
	return m
}

func step(t *testing.T, n *sdk.Native, act abi.Message) abi.StepResult {
	t.Helper()
	res, err := n.Step(act)
	if err != nil {
		t.Fatalf("step: %v", err)
	}
	return res
}

func answer(t *testing.T, n *sdk.Native, text string) abi.Score {
	t.Helper()
	step(t, n, abi.Message{Role: abi.RoleAssistant, Content: text})
	s, err := n.Score()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOracleScoresOne(t *testing.T) {
	n, current := newNativeEnv()
	scenarios := map[string]int{}
	for i := range 300 {
		seed, task := uint64(i/10)*104729+1, (i*97)%1000
		t.Run(fmt.Sprintf("seed=%d/task=%d", seed, task), func(t *testing.T) {
			reset(t, n, seed, task)
			env := current()
			scenarios[env.q.scenario]++
			s, acts := runOracle(t, n)
			if math.Abs(s.Reward-1) > 1e-6 {
				t.Fatalf("reward = %v (%v), want 1", s.Reward, s.Components)
			}
			if s.Components["calls"] != s.Components["n"] {
				t.Errorf("oracle made %v calls for %v hops", s.Components["calls"], s.Components["n"])
			}
			// Turns = longest dependency chain + the answer: parallel hops share a turn.
			depth := make([]int, len(env.q.hops))
			longest := 0
			for j, hp := range env.q.hops {
				for _, d := range hp.deps {
					depth[j] = max(depth[j], depth[d]+1)
				}
				longest = max(longest, depth[j]+1)
			}
			if len(acts) != longest+1 {
				t.Errorf("oracle took %d turns, want %d", len(acts), longest+1)
			}
			for turn, a := range acts {
				for j, c := range a.ToolCalls {
					if want := fmt.Sprintf("oracle_%d_%d", turn, j); c.ID != want {
						t.Errorf("call id = %q, want %q", c.ID, want)
					}
				}
			}
		})
	}
	for _, sc := range []string{"Multi-Hop", "Parallel Single-Hop", "Parallel Multi-Hop"} {
		if scenarios[sc] == 0 {
			t.Errorf("no %s question in 300 tasks: %v", sc, scenarios)
		}
	}
}

func TestHopCounts(t *testing.T) {
	seen := map[int]int{}
	n, current := newNativeEnv()
	for task := range 400 {
		reset(t, n, 7, task)
		seen[len(current().q.hops)]++
	}
	for k := range seen {
		if k < 2 || k > 4 {
			t.Errorf("a question has %d hops, want 2-4: %v", k, seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("hop counts seen: %v, want 2, 3 and 4", seen)
	}
}

func TestNullPolicyScoresZero(t *testing.T) {
	n := newNative()
	for task := range 50 {
		reset(t, n, 3, task)
		if s := answer(t, n, ""); s.Reward != 0 {
			t.Errorf("task %d: reward = %v, want 0", task, s.Reward)
		}
	}
}

func TestDeterminism(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		task int
	}{{0, 0}, {1, 1}, {99, 500}, {1 << 62, 999}} {
		t.Run(fmt.Sprintf("%d/%d", tc.seed, tc.task), func(t *testing.T) {
			episode := func() ([]byte, []string) {
				n := newNative()
				obs, err := json.Marshal(reset(t, n, tc.seed, tc.task))
				if err != nil {
					t.Fatal(err)
				}
				var steps []string
				for {
					act, err := n.Oracle()
					if err != nil {
						t.Fatal(err)
					}
					act.ToolCalls = append(act.ToolCalls, abi.ToolCall{ID: "w", Type: "function", // the distractor too
						Function: abi.FunctionCall{Name: "get_weather", Arguments: `{"city":"nowhere"}`}})
					if len(act.ToolCalls) == 1 {
						act.ToolCalls = nil
					}
					b, _ := json.Marshal(act)
					st, out := n.StepRaw(b)
					if st != abi.StatusOK {
						t.Fatalf("step: %s %s", st, out)
					}
					steps = append(steps, string(out))
					if strings.Contains(string(out), `"done":true`) {
						return obs, steps
					}
				}
			}
			obs1, steps1 := episode()
			obs2, steps2 := episode()
			if string(obs1) != string(obs2) || strings.Join(steps1, "\n") != strings.Join(steps2, "\n") {
				t.Fatalf("two runs differ:\n%s\n%s\n%s\n%s", obs1, obs2, steps1, steps2)
			}
			other, _ := json.Marshal(reset(t, newNative(), tc.seed+1, tc.task))
			if string(other) == string(obs1) {
				t.Fatalf("seeds %d and %d give the same episode", tc.seed, tc.seed+1)
			}
		})
	}
}

// Tasks of one seed share a world: a lookup answers the same in any task.
func TestWorldIsPerSeed(t *testing.T) {
	lookup := func(seed uint64, task int) string {
		n := newNative()
		reset(t, n, seed, task)
		return step(t, n, action([2]string{"lookup_company", `{"name":"` + newWorld(seed).byKind["company"][0].name + `"}`})).Messages[0].Content
	}
	if a, b := lookup(5, 0), lookup(5, 1); a != b || strings.HasPrefix(a, `{"error"`) {
		t.Errorf("same seed, different worlds:\n%s\n%s", a, b)
	}
	if a, b := newWorld(5).byKind["company"][0].record("all"), newWorld(6).byKind["company"][0].record("all"); fmt.Sprint(a) == fmt.Sprint(b) {
		t.Errorf("seeds 5 and 6 give the same world: %v", a)
	}
}

func TestBadCallsAreToolErrors(t *testing.T) {
	for _, tc := range []struct{ name, tool, args, want string }{
		{"unknown tool", "lookup_planet", `{"name":"Mars"}`, "unknown tool"},
		{"malformed json", "lookup_city", `{"name":`, "not valid JSON"},
		{"missing name", "lookup_person", `{}`, "name"},
		{"bad enum", "lookup_city", `{"name":"x","field":"mayor_name"}`, "field"},
		{"extra property", "lookup_company", `{"name":"x","year":2020}`, "year"},
		{"days out of range", "get_weather", `{"city":"x","days":30}`, "maximum"},
		{"unknown person", "lookup_person", `{"name":"Nobody Atall"}`, "no person named"},
		{"person looked up as city", "lookup_city", `{"name":"Ada Ashdown"}`, "no city named"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNative()
			reset(t, n, 1, 0)
			got := step(t, n, action([2]string{tc.tool, tc.args})).Messages[0].Content
			if !strings.HasPrefix(got, `{"error":`) || !strings.Contains(got, tc.want) {
				t.Errorf("content = %s, want a tool error mentioning %q", got, tc.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	w := newWorld(1)
	p := w.byKind["person"][0]
	city := p.fields["birth_city"].(*entity)
	for _, tc := range []struct{ name, tool, args, want string }{
		{"default field is all", "lookup_person", fmt.Sprintf(`{"name":%q}`, p.name),
			fmt.Sprintf(`{"birth_city":%q,"birth_year":%d,"employer":%q,"name":%q}`, city.name, p.fields["birth_year"], p.value("employer"), p.name)},
		{"one field, any case", "lookup_person", fmt.Sprintf(`{"name":%q,"field":"birth_city"}`, strings.ToUpper(p.name)),
			fmt.Sprintf(`{"birth_city":%q,"name":%q}`, city.name, p.name)},
		{"city population", "lookup_city", fmt.Sprintf(`{"name":%q,"field":"population"}`, city.name),
			fmt.Sprintf(`{"name":%q,"population":%d}`, city.name, city.fields["population"])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNative()
			reset(t, n, 1, 0)
			if got := step(t, n, action([2]string{tc.tool, tc.args})).Messages[0].Content; got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// oracleCalls returns the tool calls the oracle makes over the episode,
// without answering, leaving the episode ready for a final answer.
func oracleCalls(t *testing.T, n *sdk.Native) {
	t.Helper()
	for {
		act, err := n.Oracle()
		if err != nil {
			t.Fatal(err)
		}
		if len(act.ToolCalls) == 0 {
			return
		}
		step(t, n, act)
	}
}

func TestReward(t *testing.T) {
	const seed, chainTask, compareTask = 4, 10, 11
	gold := func(task int) question {
		n, current := newNativeEnv()
		reset(t, n, seed, task)
		return current().q
	}
	chain, cmp := gold(chainTask), gold(compareTask)
	f1 := func(solved, n, calls float64) float64 {
		p, r := solved/(calls+epsilon), solved/n
		return 2 * p * r / (p + r)
	}
	nc := float64(len(chain.hops))
	for _, tc := range []struct {
		name string
		task int
		play func(t *testing.T, n *sdk.Native) string // returns the final answer
		want float64
	}{
		{"right answer without tools", chainTask, func(*testing.T, *sdk.Native) string { return chain.gold }, 0},
		{"perfect tools, wrong answer", chainTask, func(t *testing.T, n *sdk.Native) string {
			oracleCalls(t, n)
			return "I do not know"
		}, 0},
		{"answer with digit grouping and prose", chainTask, func(t *testing.T, n *sdk.Native) string {
			oracleCalls(t, n)
			return "The answer is " + grouped(chain.gold) + "."
		}, f1(nc, nc, nc)},
		{"two distractor calls lower precision", chainTask, func(t *testing.T, n *sdk.Native) string {
			city := newWorld(seed).byKind["city"][0].name
			step(t, n, action([2]string{"get_weather", fmt.Sprintf(`{"city":%q}`, city)},
				[2]string{"get_weather", fmt.Sprintf(`{"city":%q,"unit":"fahrenheit","days":7}`, city)}))
			oracleCalls(t, n)
			return chain.gold
		}, f1(nc, nc, nc+2)},
		{"failed calls count", chainTask, func(t *testing.T, n *sdk.Native) string {
			step(t, n, action([2]string{"lookup_city", `{"name":"Atlantis"}`}))
			oracleCalls(t, n)
			return chain.gold
		}, f1(nc, nc, nc+1)},
		{"only the first hop, then the answer", chainTask, func(t *testing.T, n *sdk.Native) string {
			act, err := n.Oracle()
			if err != nil {
				t.Fatal(err)
			}
			step(t, n, act)
			return chain.gold
		}, f1(1, nc, 1)},
		{"comparison naming both", compareTask, func(t *testing.T, n *sdk.Native) string {
			oracleCalls(t, n)
			return cmp.gold + " or " + cmp.loser
		}, 0},
		{"comparison naming the loser", compareTask, func(t *testing.T, n *sdk.Native) string {
			oracleCalls(t, n)
			return cmp.loser
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNative()
			reset(t, n, seed, tc.task)
			s := answer(t, n, tc.play(t, n))
			if math.Abs(s.Reward-tc.want) > 1e-12 {
				t.Errorf("reward = %v (%v), want %v", s.Reward, s.Components, tc.want)
			}
		})
	}
}

// grouped writes a number with thousands separators; other text as is.
func grouped(s string) string {
	for _, c := range s {
		if c < '0' || c > '9' {
			return s
		}
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		text, phrase string
		want         bool
	}{
		{`{"name":"Ada Ashdown","population":19504}`, "1950", false},
		{`{"name":"Ada Ashdown","population":1950}`, "1950", true},
		{"It has 1,234,567 people.", "1234567", true},
		{"ADA ashdown!", "Ada Ashdown", true},
		{"Adam Ashdown", "Ada Ashdown", false},
		{"1, 2", "12", false},
	} {
		if got := strings.Contains(normalize(tc.text), normalize(tc.phrase)); got != tc.want {
			t.Errorf("%q mentions %q = %v, want %v", tc.text, tc.phrase, got, tc.want)
		}
	}
}

func BenchmarkNativeEpisode(b *testing.B) {
	n := newNative()
	for i := 0; b.Loop(); i++ {
		reset(b, n, uint64(i), i%1000)
		if s, _ := runOracle(b, n); math.Abs(s.Reward-1) > 1e-6 {
			b.Fatalf("reward %v", s.Reward)
		}
	}
}

// BenchmarkNativeStep measures one step with one lookup.
func BenchmarkNativeStep(b *testing.B) {
	n := newNative()
	reset(b, n, 1, 0)
	act, err := n.Oracle()
	if err != nil {
		b.Fatal(err)
	}
	act.ToolCalls = act.ToolCalls[:1]
	raw, err := json.Marshal(act)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if i%1000 == 999 { // keep the episode's result log small
			b.StopTimer()
			reset(b, n, 1, 0)
			b.StartTimer()
		}
		if st, out := n.StepRaw(raw); st != abi.StatusOK {
			b.Fatalf("step: %s", out)
		}
	}
}
