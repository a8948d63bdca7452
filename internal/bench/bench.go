// Package bench is the machinery of `terrarium bench`: it measures what
// Terrarium's sandbox costs next to the floor it is judged against (the same
// env logic run natively in Go) and the status quo it replaces (a python3
// process per ASTRA tool call), side by side in one run, and checks the
// results against the performance targets of docs/performance.md.
//
//	results, err := bench.Run(ctx, bench.Quick())
//
// Every timed figure is a set of samples; a sample times a batch of
// operations (enough to last Options.SampleTime) and divides. Samples of all
// the timed measurements are taken in interleaved rounds, so that a burst of
// load from elsewhere on the machine slows every measurement of a round
// alike instead of skewing one of them; ratios compare medians.
//
// # Notes
//
//   - Run builds the Go env it measures (package echo, a copy of the
//     runtime's test env) with the go command, and reads the JavaScript
//     envs and the WAT example from the repository: it must run inside a
//     Terrarium checkout. It also needs python3 (the status quo) and
//     wat2wasm (Debian package wabt, for the round-trip probe).
//   - Modules are compiled through the on-disk compilation cache; the
//     first run on a machine compiles them (tens of seconds for the
//     JavaScript runner) and later runs only load them.
//   - Memory is measured as the growth of the process's proportional set
//     size (Pss in /proc/self/smaps_rollup), so it works on Linux only.
package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Units of Result.Unit.
const (
	UnitMicros   = "us"
	UnitBytes    = "bytes"
	UnitRate     = "episodes/s"
	UnitEpisodes = "episodes"
)

// Result is one measured figure.
type Result struct {
	// Name identifies the figure, for example "reset/js".
	Name string `json:"name"`
	// P50 and P90 are the median and the 90th percentile of the samples.
	// For episodes/s they are the rates at the median and the 90th
	// percentile of the time per episode, so P90 is the slow tail there
	// too.
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	Unit string  `json:"unit"`
	// Baseline names the result this one is compared with, and Ratio is
	// P50 divided by the baseline's P50; both are empty for a result that
	// is its own reference.
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	// Samples is how many samples P50 and P90 come from; Ops the
	// operations timed in all of them.
	Samples int `json:"samples"`
	Ops     int `json:"ops,omitempty"`
	// FaultsPerOp is the process's minor page faults per operation while
	// it was timed: roughly the guest pages an operation touched for the
	// first time since its instance was last restored.
	FaultsPerOp float64 `json:"faults_per_op,omitempty"`
	// Note says what was measured when the name alone does not.
	Note string `json:"note,omitempty"`
}

// Target is one of the performance goals, and how this run did.
type Target struct {
	Name     string  `json:"name"`
	Goal     string  `json:"goal"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
	// From names the results the measurement derives from.
	From string `json:"from"`
}

// Report is a run's output: its results in a fixed order, the targets and
// the machine they were measured on.
type Report struct {
	Results []Result `json:"results"`
	Targets []Target `json:"targets"`
	Machine Machine  `json:"machine"`
	// Elapsed is the wall-clock time of the whole run, in seconds.
	Elapsed float64 `json:"elapsed_s"`
}

// Machine describes where a report was measured.
type Machine struct {
	CPU        string `json:"cpu,omitempty"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Go         string `json:"go"`
	// CoresAvailable is how many cores GOMAXPROCS spinning goroutines got
	// (the median of a short spin before each round of episodes/s
	// samples): below GOMAXPROCS when other work shared the machine,
	// which caps what concurrency can show.
	CoresAvailable float64 `json:"cores_available"`
}

// Options configure a run. Quick and Default return complete sets.
type Options struct {
	// Root is the Terrarium checkout; "" finds it from the working
	// directory upwards.
	Root string
	// Astra is the ASTRA records file whose first record is benchmarked;
	// "" takes the sample beside the checkout (../shared/astra/sample.jsonl,
	// as the astra package's tests do).
	Astra string
	// Samples is the number of timed samples per figure.
	Samples int
	// SampleTime is the least time one sample of a fast operation lasts.
	SampleTime time.Duration
	// RolloutTime is the least time one episodes/s sample lasts.
	RolloutTime time.Duration
	// Concurrency is the highest concurrency of the episodes/s figures;
	// 0 means GOMAXPROCS.
	Concurrency int
	// Live is the number of live episodes held to measure memory per
	// episode.
	Live int
	// MemoryBudget, when above 0, is a budget of memory (bytes) that the
	// run fills with live JavaScript episodes, reporting how many fit.
	MemoryBudget int64
	// Fuel adds the figures that isolate what fuel metering costs and
	// saves: the same steps with fuel off (Config.WithFuelPerStep(0), under
	// which wazero checks the context in guest code so that the step
	// timeout can stop it), and guests run through wazero directly with
	// and without the fuel instrumentation.
	Fuel bool
	// Progress, when set, is told how far the run is.
	Progress func(done, total int)
}

// Quick finishes in well under a minute on a 2-core machine once modules
// are in the compilation cache.
func Quick() Options {
	return Options{Samples: 12, SampleTime: 2 * time.Millisecond, RolloutTime: 40 * time.Millisecond,
		Live: 20, MemoryBudget: 64 << 20, Fuel: true}
}

// Default is the longer run whose numbers docs/performance.md reports.
func Default() Options {
	return Options{Samples: 60, SampleTime: 10 * time.Millisecond, RolloutTime: 200 * time.Millisecond,
		Live: 200, MemoryBudget: 1 << 30, Fuel: true}
}

// ErrNoCheckout is returned when no Terrarium checkout contains the working
// directory (and Options.Root is empty).
var ErrNoCheckout = errors.New("not inside a Terrarium checkout")

// Run measures everything and returns the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Samples < 1 || opts.SampleTime <= 0 || opts.RolloutTime <= 0 || opts.Live < 1 || opts.MemoryBudget < 0 {
		return nil, fmt.Errorf("bench: options out of range: %d samples of %v, rollouts of %v, %d live episodes, budget %d",
			opts.Samples, opts.SampleTime, opts.RolloutTime, opts.Live, opts.MemoryBudget)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	r := &runner{opts: opts, total: plannedSteps(opts)}
	defer r.close(context.WithoutCancel(ctx))
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	if err := r.run(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Results: r.results, Machine: machine(), Elapsed: time.Since(start).Seconds()}
	rep.Machine.CoresAvailable = r.cores
	link(rep.Results)
	rep.Targets = targets(rep.Results)
	return rep, nil
}

// link fills in the ratios from the baselines' medians.
func link(rs []Result) {
	byName := map[string]*Result{}
	for i := range rs {
		byName[rs[i].Name] = &rs[i]
	}
	for i := range rs {
		if b := byName[rs[i].Baseline]; b != nil && b.P50 != 0 && rs[i].Baseline != rs[i].Name {
			rs[i].Ratio = rs[i].P50 / b.P50
		}
	}
}

// plannedSteps is roughly how many times a run reports progress: module
// loads, calibrations, sampling rounds and memory chunks.
func plannedSteps(o Options) int {
	loads, cases := 1+5+2, 26
	if o.Fuel {
		loads, cases = loads+4, cases+7
	}
	n := loads + cases + o.Samples + 2*o.Concurrency + o.Samples + 2*5
	if o.MemoryBudget > 0 {
		n += 5
	}
	return n
}
