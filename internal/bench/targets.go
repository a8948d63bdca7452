package bench

import "math"

// targets checks the results against the performance goals. A goal
// whose figures are missing (fuel figures with Options.Fuel off) is left
// out.
func targets(rs []Result) []Target {
	by := map[string]Result{}
	for _, r := range rs {
		by[r.Name] = r
	}
	var out []Target
	add := func(t Target, ok bool) {
		if ok && !math.IsNaN(t.Measured) {
			out = append(out, t)
		}
	}
	p50 := func(name string) (float64, bool) { r, ok := by[name]; return r.P50, ok }
	for _, k := range []string{"go", "js"} {
		v, ok := p50("reset/" + k)
		add(Target{Name: "reset p50 (" + k + ")", Goal: "<= 20 us", Measured: v, Unit: UnitMicros, Met: v <= 20, From: "reset/" + k}, ok)
	}
	if v, ok := p50("step/wat"); ok {
		if own, ok := p50("step/wat-call-raw"); ok {
			add(Target{Name: "host-guest round trip", Goal: "<= 1 us beyond the env's own work", Measured: v - own, Unit: UnitMicros, Met: v-own <= 1,
				From: "step/wat - step/wat-call-raw (a whole step of guess.wat less its terrarium_step call alone)"}, true)
		}
	}
	if py, ok := p50("call/python-subprocess"); ok {
		if a, ok := p50("call/astra"); ok && a > 0 {
			add(Target{Name: "ASTRA tool call speed-up", Goal: ">= 4000x python3 subprocess", Measured: py / a, Unit: "x", Met: py/a >= 4000,
				From: "call/python-subprocess / call/astra"}, true)
		}
	}
	if v, ok := p50("live/js-in-8GiB"); ok {
		add(Target{Name: "live JS episodes in 8 GiB", Goal: ">= 10000", Measured: v, Unit: UnitEpisodes, Met: v >= 10000,
			From: "live/js-in-8GiB (extrapolated from memory/live-episode-js)"}, true)
	}
	for _, f := range []struct{ fuel, base string }{
		{"step/go-raw-fuel", "step/go-raw"}, {"step/js-raw-fuel", "step/js-raw"}, {"call/astra-raw-fuel", "call/astra-raw"},
	} {
		v, ok1 := p50(f.fuel)
		b, ok2 := p50(f.base)
		if ok1 && ok2 && b > 0 {
			over := (v/b - 1) * 100
			add(Target{Name: "fuel overhead (" + f.base + ")", Goal: "<= 10 %", Measured: over, Unit: "%", Met: over <= 10,
				From: f.fuel + " / " + f.base}, true)
		}
	}
	return out
}
