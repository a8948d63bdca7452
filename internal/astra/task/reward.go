package task

import (
	"strings"
	"unicode"
)

// Epsilon is the ε of ASTRA's precision n̂/(c+ε). The oracle's reward is
// 2n/(2n+ε) ≥ 1-ε/2, so it scores 1 within ε.
const Epsilon = 1e-9

// Outcome is what the reward is computed from: the episode as the guest saw
// it.
type Outcome struct {
	// Results are the contents of the successful tool results returned in
	// the episode (sdk.Episode.ToolResults).
	Results []string
	// Calls counts every tool call made, failed ones included.
	Calls int
	// Final is the agent's final answer; HasFinal is false when it gave none.
	Final    string
	HasFinal bool
}

// Reward is ASTRA's trajectory reward (docs/astra.md), the one definition
// used by imported tasks. With n tool-backed sub-questions (those with a
// verified call), n̂ of them solved (the sub-answer occurs, as a substring,
// in a successful tool result of the episode), and c tool calls:
//
//	recall    r = n̂/n
//	precision p = min(1, n̂/(c+ε))
//	f1        = 2pr/(p+r), 0 when p+r = 0
//
// Precision is capped at 1 because one call can solve several
// sub-questions (two sub-questions with the same verified call), which
// ASTRA's unbounded formula would score above 1. final_match is
// FinalMatch(final answer, gold), 0 without a final answer. The mode picks
// the reward: f1, f1·final_match, or final_match. Components are recall,
// precision, f1, n, solved, calls and final_match.
func Reward(t *Task, mode Mode, o Outcome) (float64, map[string]float64) {
	n, solved := 0, 0
	for _, sq := range t.Subs {
		if sq.Call < 0 {
			continue
		}
		n++
		for _, r := range o.Results {
			if strings.Contains(r, sq.Answer) {
				solved++
				break
			}
		}
	}
	var recall, precision, f1 float64
	if n > 0 {
		recall = float64(solved) / float64(n)
	}
	precision = min(1, float64(solved)/(float64(o.Calls)+Epsilon))
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	final := 0.0
	if o.HasFinal && FinalMatch(o.Final, t.FinalAnswer) {
		final = 1
	}
	reward := f1
	switch mode {
	case ModeF1Final:
		reward = f1 * final
	case ModeFinal:
		reward = final
	}
	return reward, map[string]float64{
		"recall":      recall,
		"precision":   precision,
		"f1":          f1,
		"n":           float64(n),
		"solved":      float64(solved),
		"calls":       float64(o.Calls),
		"final_match": final,
	}
}

// FinalMatch reports whether answer matches the gold final answer: after
// Normalize, the gold's tokens occur as a contiguous run of the answer's
// tokens. So "Qantas" matches "The airline is Qantas." and "江宁织造" matches
// "曹寅曾任江宁织造。", but "78.3" does not match "78.37". An empty gold
// answer matches nothing.
func FinalMatch(answer, gold string) bool {
	g := Normalize(gold)
	if len(g) == 0 {
		return false
	}
	a := Normalize(answer)
	for i := 0; i+len(g) <= len(a); i++ {
		match := true
		for j := range g {
			if a[i+j] != g[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// Normalize splits s into the tokens FinalMatch compares:
//
//   - letters are lower-cased, and full-width forms (Ａ, １) read as their
//     ASCII counterparts;
//   - a token is a run of letters and digits; a '.' between two digits
//     stays inside it (78.37 is one token) and a ',' between two digits is
//     dropped (1,000 reads as 1000);
//   - every Han, Hiragana, Katakana and Hangul character is a token of its
//     own, so Chinese text, written without spaces, matches by substring;
//   - everything else (space, punctuation, symbols) separates tokens;
//   - the English articles "a", "an" and "the" are dropped.
func Normalize(s string) []string {
	rs := []rune(s)
	for i, r := range rs {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		rs[i] = unicode.ToLower(r)
	}
	var toks []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			w := string(cur)
			if w != "a" && w != "an" && w != "the" {
				toks = append(toks, w)
			}
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		switch {
		case isCJK(r):
			flush()
			toks = append(toks, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur = append(cur, r)
		case (r == '.' || r == ',') && i > 0 && i+1 < len(rs) &&
			unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]) && len(cur) > 0:
			if r == '.' {
				cur = append(cur, r)
			}
		default:
			flush()
		}
	}
	flush()
	return toks
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}
