package astra

import (
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"unicode"

	"github.com/terrarium-rl/terrarium/internal/astra/task"
)

// Similarity bands of distractor candidates (task.Bands): a candidate is
// near when its similarity to the task is at least nearSimilarity, mid when
// it is above zero, far when it shares no token.
const nearSimilarity = 0.3

// stopWords are dropped from tool text before comparing.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the of for to in on at by with from and or is are be as it its this that
		these those which what who whom whose when where how if e g eg i.e etc return returns returned get gets
		given give provide provides specified specify use used using based`) {
		stopWords[w] = true
	}
}

// toolTokens returns the token set of a tool for the similarity measure:
// its name split at '_', '-', '.' and camelCase humps, and its
// description; lower-cased; runs of letters and digits, every CJK
// character a token of its own; English stop words dropped.
func toolTokens(name, description string) []string {
	var b strings.Builder
	prev := rune(0)
	for _, r := range name {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	b.WriteByte(' ')
	b.WriteString(description)
	set := map[string]bool{}
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			if w := string(cur); !stopWords[w] {
				set[w] = true
			}
			cur = cur[:0]
		}
	}
	for _, r := range strings.ToLower(b.String()) {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			flush()
			set[string(r)] = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	out := make([]string, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// addDistractors gives every task its distractor candidates: tools of the
// other tasks of the import, in three similarity bands (docs/astra.md).
//
// The similarity of a candidate tool to a task is the largest Jaccard
// index |A∩B|/|A∪B| between the candidate's token set (toolTokens) and
// the token set of one of the task's own tools. Tokens found in more than
// max(64, 1%) of the import's tools are ignored, as stop words of that
// import; this also bounds the work per task.
//
// Each band keeps up to max(4, 3k) candidates: near the most similar
// (ties broken by position in the import), mid and far a uniform sample
// drawn with a generator seeded from the task's uuid. A candidate whose
// name equals one of the task's tools, or an earlier candidate's, is never
// kept. The guest then draws k per episode from these bands with the
// episode's seed.
func addDistractors(tasks []*task.Task, k int) {
	type gtool struct {
		ref  task.ToolRef
		name string
		toks []int32
	}
	vocab := map[string]int32{}
	var all []gtool
	for ti, t := range tasks {
		for j, tl := range t.Tools {
			var ids []int32
			for _, w := range toolTokens(tl.Name, tl.Description) {
				id, ok := vocab[w]
				if !ok {
					id = int32(len(vocab))
					vocab[w] = id
				}
				ids = append(ids, id)
			}
			all = append(all, gtool{ref: task.ToolRef{Task: ti, Tool: j}, name: tl.Name, toks: ids})
		}
	}
	df := make([]int, len(vocab))
	for _, g := range all {
		for _, id := range g.toks {
			df[id]++
		}
	}
	limit := max(64, len(all)/100)
	postings := make([][]int32, len(vocab))
	for i := range all {
		kept := all[i].toks[:0]
		for _, id := range all[i].toks {
			if df[id] <= limit {
				kept = append(kept, id)
				postings[id] = append(postings[id], int32(i))
			}
		}
		all[i].toks = kept
	}
	perBand := max(4, 3*k)
	shared := make([]int32, len(all)) // |A∩B| with the current own tool
	sim := make([]float64, len(all))  // best Jaccard with the task so far
	var touched, hit []int32
	first := 0 // index in all of the current task's first tool
	for ti, t := range tasks {
		own := all[first : first+len(t.Tools)]
		first += len(t.Tools)
		clash := map[string]bool{}
		for _, tl := range t.Tools {
			clash[tl.Name] = true
		}
		for _, o := range own {
			hit = hit[:0]
			for _, id := range o.toks {
				for _, c := range postings[id] {
					if shared[c] == 0 {
						hit = append(hit, c)
					}
					shared[c]++
				}
			}
			for _, c := range hit {
				inter := float64(shared[c])
				j := inter / (float64(len(o.toks)+len(all[c].toks)) - inter)
				if sim[c] == 0 {
					touched = append(touched, c)
				}
				sim[c] = max(sim[c], j)
				shared[c] = 0
			}
		}
		var near, mid []int32
		for _, c := range touched {
			switch {
			case all[c].ref.Task == ti:
			case sim[c] >= nearSimilarity:
				near = append(near, c)
			default:
				mid = append(mid, c)
			}
		}
		sort.Slice(near, func(a, b int) bool {
			if sim[near[a]] != sim[near[b]] {
				return sim[near[a]] > sim[near[b]]
			}
			return near[a] < near[b]
		})
		h := fnv.New64a()
		h.Write([]byte(t.UUID))
		rng := rand.New(rand.NewPCG(h.Sum64(), 0x61737472)) // "astr"
		bands := make([][]task.ToolRef, len(task.Bands))
		take := func(b int, c int32) {
			clash[all[c].name] = true
			bands[b] = append(bands[b], all[c].ref)
		}
		for _, c := range near {
			if len(bands[0]) == perBand {
				break
			}
			if !clash[all[c].name] {
				take(0, c)
			}
		}
		// A partial Fisher-Yates shuffle: a uniform sample without
		// shuffling the whole band. touched, and so mid, is in a
		// deterministic order (postings are built in import order).
		for j := 0; j < len(mid) && len(bands[1]) < perBand; j++ {
			r := j + rng.IntN(len(mid)-j)
			mid[j], mid[r] = mid[r], mid[j]
			if c := mid[j]; !clash[all[c].name] {
				take(1, c)
			}
		}
		for tries := 0; len(bands[2]) < perBand && tries < 20*perBand && len(all) > 0; tries++ {
			c := int32(rng.IntN(len(all)))
			if sim[c] == 0 && all[c].ref.Task != ti && !clash[all[c].name] {
				take(2, c)
			}
		}
		for _, c := range touched {
			sim[c] = 0
		}
		touched = touched[:0]
		t.Distractors = bands
	}
}
