package main

import (
	"github.com/dop251/goja"

	"github.com/terrarium-rl/terrarium/sdk"
)

// episodeObject makes the ep object the script's functions receive: a
// read-only view of the episode (seed, task, turn, calls, ended,
// finalAnswer, toolResults), end() to end it, and state, an empty object
// the script owns for the episode.
func (v *vm) episodeObject(ep *sdk.Episode) *goja.Object {
	rt := v.rt
	o := rt.NewObject()
	constant := func(name string, val any) {
		_ = o.DefineDataProperty(name, rt.ToValue(val), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	getter := func(name string, get func() any) {
		fn := rt.ToValue(func(goja.FunctionCall) goja.Value { return rt.ToValue(get()) })
		_ = o.DefineAccessorProperty(name, fn, nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	// A seed above 2^53 loses precision as a number; Math.random is the
	// way to use it.
	constant("seed", float64(ep.Seed))
	constant("task", ep.Task)
	getter("turn", func() any { return ep.Turn })
	getter("calls", func() any { return ep.Calls })
	getter("ended", func() any { return ep.Ended() })
	getter("finalAnswer", func() any {
		if s, ok := ep.FinalAnswer(); ok {
			return s
		}
		return nil
	})
	getter("toolResults", func() any {
		rs := ep.ToolResults()
		items := make([]any, len(rs))
		for i, r := range rs {
			items[i] = r
		}
		return rt.NewArray(items...)
	})
	constant("end", func(goja.FunctionCall) goja.Value {
		ep.End()
		return goja.Undefined()
	})
	_ = o.Set("state", rt.NewObject())
	return o
}
