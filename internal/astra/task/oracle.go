package task

import "sort"

// Plan returns the oracle's tool calls grouped by turn: the verified calls
// of the tool-backed sub-questions, level by level in dependency order
// (Sub.Level), each level's calls together so that they go out as parallel
// tool calls in one assistant turn. A call shared by several sub-questions
// appears once, at the lowest level that needs it; levels without tool
// calls are skipped.
func Plan(t *Task) [][]int {
	byLevel := map[int][]int{}
	seen := map[int]bool{}
	subs := append([]Sub(nil), t.Subs...)
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Level < subs[j].Level })
	for _, sq := range subs {
		if sq.Call < 0 || seen[sq.Call] {
			continue
		}
		seen[sq.Call] = true
		byLevel[sq.Level] = append(byLevel[sq.Level], sq.Call)
	}
	levels := make([]int, 0, len(byLevel))
	for l := range byLevel {
		levels = append(levels, l)
	}
	sort.Ints(levels)
	plan := make([][]int, 0, len(levels))
	for _, l := range levels {
		plan = append(plan, byLevel[l])
	}
	return plan
}

// Next returns the oracle's next group of calls given which verified calls
// have been answered in the episode: the first group of Plan with a call
// not yet answered, less the answered ones. It returns nil when every call
// has been answered, and the oracle then gives the final answer.
func Next(plan [][]int, answered func(call int) bool) []int {
	for _, group := range plan {
		var todo []int
		for _, c := range group {
			if !answered(c) {
				todo = append(todo, c)
			}
		}
		if len(todo) > 0 {
			return todo
		}
	}
	return nil
}
