package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// hop is a tool-backed sub-question, as in ASTRA's decomposition_trace: the
// lookup that answers it and the sub-answer that must appear in a tool
// result. deps index earlier hops whose answers the lookup needs.
type hop struct {
	tool   string
	entity string
	field  string
	answer string
	deps   []int
}

// question is a task. Comparisons also name the loser, which a correct final
// answer must not mention.
type question struct {
	scenario string // ASTRA's scenario_type
	text     string
	hops     []hop
	gold     string
	loser    string
}

func choose[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// follow walks rels from start and returns the entities visited, start
// first. It adds them to used and reports false if one was used already:
// questions never revisit an entity, so that no sub-answer can show up in
// another hop's result.
func follow(start *entity, rels []relation, used map[*entity]bool) ([]*entity, bool) {
	path := []*entity{start}
	for _, rel := range rels {
		path = append(path, start.fields[rel.field].(*entity))
		start = path[len(path)-1]
	}
	for _, e := range path {
		if used[e] {
			return nil, false
		}
		used[e] = true
	}
	return path, true
}

// describe phrases the end of a path: "the city where the founder of X was born".
func describe(start *entity, rels []relation) string {
	d := start.name
	for _, rel := range rels {
		d = fmt.Sprintf(rel.phrase, d)
	}
	return d
}

// chainHops turns a path into hops: one lookup per relation, then one for
// the attribute, each depending on the one before. Hop indexes start at base.
func chainHops(path []*entity, rels []relation, field string, base int) []hop {
	hops := make([]hop, 0, len(path))
	for i, e := range path {
		h := hop{tool: "lookup_" + e.kind, entity: e.name}
		if i < len(rels) {
			h.field, h.answer = rels[i].field, path[i+1].name
		} else {
			h.field, h.answer = field, e.text(field)
		}
		if i > 0 {
			h.deps = []int{base + i - 1}
		}
		hops = append(hops, h)
	}
	return hops
}

var errNoQuestion = errors.New("hoplookup: no question found in 1000 draws")

// chainQuestion asks for an attribute at the end of a 1-3 relation path:
// 2-4 sequential hops ("Multi-Hop").
func chainQuestion(r *rand.Rand, w *world) (question, error) {
	for range 1000 {
		kind := choose(r, []string{"person", "company", "city"})
		start := choose(r, w.byKind[kind])
		rels := make([]relation, 1+r.IntN(3))
		for i := range rels {
			rels[i] = choose(r, filter(relations, func(rel relation) bool { return rel.from == kind }))
			kind = rels[i].to
		}
		path, ok := follow(start, rels, map[*entity]bool{})
		if !ok {
			continue
		}
		last := path[len(path)-1]
		a := choose(r, filter(attributes, func(a attribute) bool { return a.kind == last.kind }))
		return question{
			scenario: "Multi-Hop",
			text:     fmt.Sprintf(a.question, describe(start, rels)),
			hops:     chainHops(path, rels, a.field, 0),
			gold:     last.text(a.field),
		}, nil
	}
	return question{}, errNoQuestion
}

// compareQuestion asks which of two entities wins on an attribute; each is
// named directly or reached by one relation. The two chains are independent,
// so their hops can run in parallel; the comparison itself needs no tool.
func compareQuestion(r *rand.Rand, w *world) (question, error) {
	comparable := filter(attributes, func(a attribute) bool { return a.compare != "" })
	for range 1000 {
		a := choose(r, comparable)
		used := map[*entity]bool{}
		var q question
		var ends [2]*entity
		var descs [2]string
		ok, direct := true, true
		for side := range 2 {
			var rels []relation
			start := choose(r, w.byKind[a.kind])
			if r.IntN(2) == 0 {
				rel := choose(r, filter(relations, func(rel relation) bool { return rel.to == a.kind }))
				rels, start, direct = []relation{rel}, choose(r, w.byKind[rel.from]), false
			}
			path, fine := follow(start, rels, used)
			if !fine {
				ok = false
				break
			}
			q.hops = append(q.hops, chainHops(path, rels, a.field, len(q.hops))...)
			ends[side], descs[side] = path[len(path)-1], describe(start, rels)
		}
		if !ok {
			continue
		}
		x, y := ends[0].fields[a.field].(int), ends[1].fields[a.field].(int)
		if x == y {
			continue
		}
		win, lose := ends[0], ends[1]
		if (y < x) == a.less {
			win, lose = lose, win
		}
		q.scenario = "Parallel Multi-Hop"
		if direct {
			q.scenario = "Parallel Single-Hop"
		}
		q.text, q.gold, q.loser = fmt.Sprintf(a.compare, descs[0], descs[1]), win.name, lose.name
		return q, nil
	}
	return question{}, errNoQuestion
}
