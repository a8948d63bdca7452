// Command hoplookup is a multi-hop lookup environment in the style of ASTRA
// (github.com/LianjiaTech/astra): questions about a small synthetic world
// that need 2-4 lookups, scored with ASTRA's tool-use reward.
//
// # Tasks
//
// A seed generates a world of 12 cities, 12 companies and 30 people with
// linked attributes (a person's birth city and employer, a company's founder
// and headquarters, a city's mayor, populations, years...). Every task of
// the seed asks about the same world; the task's question comes from
// ep.Rand. Even tasks are chains ("Multi-Hop": "What is the population of
// the city where the founder of X was born?"); odd tasks compare two
// entities, each named or one relation away ("Parallel Single-Hop" or
// "Parallel Multi-Hop": "Who was born earlier: the founder of X or the mayor
// of Y?"), whose two chains can be looked up in parallel.
//
// # Tools
//
// lookup_person, lookup_company and lookup_city take an exact name
// (case-insensitive) and a field (enum, default "all"). get_weather is a
// distractor, as in ASTRA, which mixes irrelevant tools into the list.
//
// # Scoring
//
// ASTRA's reward: with n tool-backed sub-questions (hops), n̂ of them solved,
// and c tool calls (failed ones included), recall r = n̂/n, precision
// p = n̂/(c+ε) (ε = 1e-9, capped at 1), and f1 = 2pr/(p+r). A hop is solved
// when its sub-answer appears in a successful tool result of the episode
// (ep.ToolResults). Unlike ASTRA's plain substring test, "appears" is
// matched on whole words after normalization (case, punctuation, digit
// grouping), so that "1950" does not count as found inside "19504".
//
// Reward = f1 when the final answer is right, else 0. The final answer is
// right when it mentions the gold answer (normalized the same way) and, for
// comparisons, does not mention the loser. Gating on the final answer keeps
// ASTRA's shaping of how the answer is found while never rewarding a wrong
// answer; a right answer found without tools scores 0 (recall 0).
// Components: recall, precision, n, solved, calls, final_match.
//
// The oracle looks up, each turn, every hop whose dependencies are solved
// (independent hops in parallel, with the single field it needs), then
// answers: n calls, reward 1 within ε.
package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"unicode"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

func init() { sdk.Register(func() sdk.Env { return new(hoplookup) }) }

func main() {}

// epsilon is ASTRA's ε in the precision's denominator.
const epsilon = 1e-9

type hoplookup struct {
	seed uint64
	w    *world
	q    question
}

func (*hoplookup) Spec() abi.Spec {
	return abi.Spec{
		Name:        "hoplookup",
		Version:     "1.0.0",
		Description: "Multi-hop questions about a synthetic world of people, companies and cities, answered with lookup tools; ASTRA's tool-use F1 reward gated on the final answer.",
		Tasks:       1000,
		MaxTurns:    8,
	}
}

func (h *hoplookup) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	h.seed, h.w = ep.Seed, newWorld(ep.Seed)
	gen := chainQuestion
	if ep.Task%2 == 1 {
		gen = compareQuestion
	}
	q, err := gen(ep.Rand, h.w)
	if err != nil {
		return nil, err
	}
	h.q = q
	system := "You answer questions about a fictional world of people, companies and cities. Its facts are " +
		"not public knowledge: look them up with the tools, never guess. Every tool call counts against you, " +
		"so make as few as you can, and make independent lookups in parallel in one message. When you know " +
		"the answer, reply with the answer alone."
	return &sdk.Start{
		Messages: []abi.Message{{Role: abi.RoleSystem, Content: system}, {Role: abi.RoleUser, Content: q.text}},
		Tools: []*sdk.Tool{
			h.lookupTool("person", "Look up a person by full name: birth city, birth year and employer."),
			h.lookupTool("company", "Look up a company by name: founder, headquarters city, founding year, industry and number of employees."),
			h.lookupTool("city", "Look up a city by name: country, population, founding year and mayor."),
			sdk.NewTool("get_weather", "Weather forecast for a city.",
				`{"type":"object","properties":{"city":{"type":"string","minLength":1},"days":{"type":"integer","minimum":1,"maximum":7,"default":3},"unit":{"type":"string","enum":["celsius","fahrenheit"],"default":"celsius"}},"required":["city"],"additionalProperties":false}`,
				h.weather),
		},
	}, nil
}

type lookupArgs struct {
	Name  string `json:"name"`
	Field string `json:"field"`
}

func (h *hoplookup) lookupTool(kind, desc string) *sdk.Tool {
	enum, _ := json.Marshal(append([]string{"all"}, fieldOrder[kind]...))
	schema := fmt.Sprintf(`{"type":"object","properties":{"name":{"type":"string","minLength":1,"description":"Exact name of the %s."},`+
		`"field":{"type":"string","enum":%s,"default":"all","description":"Which field to return."}},"required":["name"],"additionalProperties":false}`, kind, enum)
	return sdk.NewTool("lookup_"+kind, desc, schema, func(_ *sdk.Episode, a lookupArgs) (any, error) {
		e := h.w.find(kind, a.Name)
		if e == nil {
			return nil, sdk.Errorf("no %s named %q", kind, a.Name)
		}
		if a.Field == "" {
			a.Field = "all"
		}
		return e.record(a.Field), nil
	})
}

// weather is a distractor: a forecast derived from the seed and the city,
// so that asking twice gives the same answer.
func (h *hoplookup) weather(_ *sdk.Episode, a struct {
	City string `json:"city"`
	Days int    `json:"days"`
	Unit string `json:"unit"`
}) (any, error) {
	c := h.w.find("city", a.City)
	if c == nil {
		return nil, sdk.Errorf("no city named %q", a.City)
	}
	if a.Days == 0 {
		a.Days = 3
	}
	if a.Unit == "" {
		a.Unit = "celsius"
	}
	f := fnv.New64a()
	f.Write([]byte(c.name))
	r := rand.New(rand.NewPCG(h.seed, f.Sum64()))
	days := make([]map[string]any, a.Days)
	for i := range days {
		lo := -20 + r.IntN(45)
		hi := lo + 2 + r.IntN(14)
		if a.Unit == "fahrenheit" {
			lo, hi = lo*9/5+32, hi*9/5+32
		}
		days[i] = map[string]any{"day": i + 1, "low": lo, "high": hi,
			"conditions": choose(r, []string{"sunny", "cloudy", "rain", "fog", "snow", "wind"})}
	}
	return map[string]any{"city": c.name, "unit": a.Unit, "forecast": days}, nil
}

// normalize lower-cases s, drops digit-grouping commas and turns every run
// of other non-alphanumerics into one space, padded so that a Contains on
// normalized strings matches whole words only.
func normalize(s string) string {
	rs := []rune(strings.ToLower(s))
	var b strings.Builder
	b.WriteByte(' ')
	gap := true
	for i, c := range rs {
		switch {
		case c == ',' && i > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]):
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			b.WriteRune(c)
			gap = false
		case !gap:
			b.WriteByte(' ')
			gap = true
		}
	}
	if !gap {
		b.WriteByte(' ')
	}
	return b.String()
}

// solved reports, per hop, whether its sub-answer appears in a tool result.
func (h *hoplookup) solved(ep *sdk.Episode) []bool {
	results := ep.ToolResults()
	norm := make([]string, len(results))
	for i, r := range results {
		norm[i] = normalize(r)
	}
	out := make([]bool, len(h.q.hops))
	for i, hp := range h.q.hops {
		want := normalize(hp.answer)
		for _, r := range norm {
			if strings.Contains(r, want) {
				out[i] = true
				break
			}
		}
	}
	return out
}

func (h *hoplookup) Score(ep *sdk.Episode) (abi.Score, error) {
	solved := 0
	for _, s := range h.solved(ep) {
		if s {
			solved++
		}
	}
	n, c := float64(len(h.q.hops)), float64(ep.Calls)
	recall := float64(solved) / n
	// Capped: a single "all" lookup can reveal more than one sub-answer.
	precision := min(1, float64(solved)/(c+epsilon))
	f1 := 0.0
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	match := 0.0
	if ans, ok := ep.FinalAnswer(); ok && strings.Contains(normalize(ans), normalize(h.q.gold)) &&
		(h.q.loser == "" || !strings.Contains(normalize(ans), normalize(h.q.loser))) {
		match = 1
	}
	return abi.Score{Reward: f1 * match, Components: map[string]float64{
		"recall": recall, "precision": precision, "n": n, "solved": float64(solved), "calls": c, "final_match": match,
	}}, nil
}

func (h *hoplookup) Oracle(ep *sdk.Episode) (abi.Message, error) {
	solved := h.solved(ep)
	msg := abi.Message{Role: abi.RoleAssistant}
	for i, hp := range h.q.hops {
		ready := !solved[i]
		for _, d := range hp.deps {
			ready = ready && solved[d]
		}
		if !ready {
			continue
		}
		args, err := json.Marshal(lookupArgs{Name: hp.entity, Field: hp.field})
		if err != nil {
			return abi.Message{}, fmt.Errorf("hoplookup: oracle: %w", err)
		}
		msg.ToolCalls = append(msg.ToolCalls, abi.ToolCall{ID: fmt.Sprintf("oracle_%d_%d", ep.Turn, len(msg.ToolCalls)),
			Type: "function", Function: abi.FunctionCall{Name: hp.tool, Arguments: string(args)}})
	}
	if len(msg.ToolCalls) == 0 {
		msg.Content = h.q.gold
	}
	return msg, nil
}
