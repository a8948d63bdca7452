package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/internal/bench"
	"github.com/terrarium-rl/terrarium/internal/progress"
)

var benchFlags struct {
	quick       bool
	json        bool
	samples     int
	live        int
	budget      string
	concurrency int
	astra       string
	noFuel      bool
}

var cmdBench = &Command{
	Name:  "bench",
	Usage: "bench [--quick] [--json] [--memory-budget SIZE] [flags]",
	Short: "measure resets, steps, episodes/s and memory against their baselines",
	Long: `Bench measures what the sandbox costs, side by side in one run with the
floor it is judged against and the status quo it replaces:

  instantiate/*, start/*           starting an episode with a fresh instance
                                   and with a recycled one
  reset/*                          restoring a used instance to the snapshot
                                   (the runtime's reset, from Env.Stats)
  fork/*                           forking a live episode
  step/native, step/go, step/js*   one tool call: the echo env natively (the
                                   floor), the same Go code in the sandbox,
                                   the same env in JavaScript, js-inventory;
                                   step/wat is a step of an env that does
                                   almost nothing (the round trip)
  call/python-subprocess, call/astra*
                                   one tool call of an imported ASTRA task: a
                                   python3 process running the record's code
                                   (ASTRA's way), and the sandbox (rewritten:
                                   the arguments in another key order and
                                   spacing; astra-js: the task imported with
                                   --kind js)
  episode/*                        whole oracle episodes
  episodes/{go,js}/cN              episodes/s through the rollout engine at
                                   concurrency 1..GOMAXPROCS
  memory/*, live/*                 memory per live episode, the live episodes
                                   8 GiB would hold (extrapolated), and those
                                   actually held within --memory-budget
  *-raw, *-raw-fuel, *-nofuel      the same guests through wazero directly,
                                   with and without fuel instrumentation, and
                                   in the sandbox with fuel off

Times are in microseconds per operation: p50 is the median of the timed
samples, p90 their 90th percentile; ratio is p50 over the baseline's p50.
The issue's targets are checked and reported, not asserted.
docs/performance.md explains every figure and holds the numbers of a full
run.

It builds its Go env with the go command, so run it inside a Terrarium
checkout; it needs python3 and wat2wasm (Debian package wabt). The first run
on a machine compiles the modules (a few seconds each); later runs load them
from the compilation cache. --quick takes fewer and shorter samples and
finishes in under a minute; the default run takes one to two minutes. A
progress bar is drawn on a terminal.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.BoolVar(&benchFlags.quick, "quick", false, "fewer and shorter samples (under a minute)")
		fs.BoolVar(&benchFlags.json, "json", false, `print {"results":[...],"targets":[...]} as JSON`)
		fs.IntVar(&benchFlags.live, "live", 0, "live episodes held to measure memory per episode (default 40, or 200 without --quick)")
		fs.StringVar(&benchFlags.budget, "memory-budget", "", "fill this much memory with live JavaScript episodes, 0 to skip (default 128MiB, or 1GiB without --quick)")
		fs.IntVar(&benchFlags.concurrency, "concurrency", 0, "highest concurrency of episodes/s (default GOMAXPROCS)")
		fs.StringVar(&benchFlags.astra, "astra", "", "ASTRA records file whose first record is benchmarked (default ../shared/astra/sample.jsonl beside the checkout)")
		fs.BoolVar(&benchFlags.noFuel, "no-fuel", false, "leave out the figures with a compute budget")
		fs.IntVar(&benchFlags.samples, "samples", 0, "timed samples per figure (testing)")
		_ = fs.MarkHidden("samples")
	},
	Run: runBench,
}

func runBench(ctx context.Context, inv *Invocation) error {
	f := &benchFlags
	if len(inv.Args) != 0 {
		return usagef("bench takes no arguments")
	}
	opts := bench.Default()
	if f.quick {
		opts = bench.Quick()
	}
	if f.samples < 0 || f.live < 0 || f.concurrency < 0 {
		return usagef("--samples, --live and --concurrency must not be negative")
	}
	if f.samples > 0 {
		opts.Samples = f.samples
	}
	if f.live > 0 {
		opts.Live = f.live
	}
	if f.budget != "" {
		n, err := bench.ParseSize(f.budget)
		if err != nil {
			return usagef("--memory-budget: %s", err)
		}
		opts.MemoryBudget = n
	}
	opts.Concurrency, opts.Astra, opts.Fuel = f.concurrency, f.astra, !f.noFuel

	var bar *progress.Bar
	opts.Progress = func(done, total int) {
		if bar == nil {
			bar = progress.New(inv.Stderr, total, "bench")
		}
		bar.Set(done)
	}
	rep, err := bench.Run(ctx, opts)
	bar.Finish()
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(inv.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(inv.Stdout, rep)
	return nil
}

// printReport writes the report as aligned tables.
func printReport(w io.Writer, rep *bench.Report) {
	// Numbers align right; names are padded to one width so that they
	// stay aligned left.
	nw := len("name")
	for _, r := range rep.Results {
		nw = max(nw, len(r.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tp50\tp90\tunit\tratio\t  %s\n", nw, "name", "baseline")
	for _, r := range rep.Results {
		p50, p90, unit := r.P50, r.P90, r.Unit
		if unit == bench.UnitBytes {
			p50, p90, unit = p50/(1<<20), p90/(1<<20), "MiB"
		}
		ratio := ""
		if r.Baseline != "" && r.Ratio != 0 {
			ratio = formatRatio(r.Ratio)
		}
		f50, f90 := num(p50), num(p90)
		if unit == bench.UnitEpisodes {
			f50, f90 = strconv.FormatFloat(p50, 'f', 0, 64), strconv.FormatFloat(p90, 'f', 0, 64)
		}
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t  %s\n", nw, r.Name, f50, f90, unit, ratio, r.Baseline)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tgoal\tmeasured\t\tfrom")
	for _, t := range rep.Targets {
		met := "MISSED"
		if t.Met {
			met = "met"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", t.Name, t.Goal, num(t.Measured), t.Unit, met, t.From)
	}
	tw.Flush()
	m := rep.Machine
	fmt.Fprintf(w, "\n%s, %d CPUs (GOMAXPROCS %d, %.2f cores free for episodes/s), %s/%s, %s; %s\n", m.CPU, m.NumCPU, m.GOMAXPROCS,
		m.CoresAvailable, m.OS, m.Arch, m.Go, (time.Duration(rep.Elapsed * float64(time.Second))).Round(time.Second))
}

// num renders a figure with three significant digits, without exponents.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "-"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// formatRatio renders a ratio as a multiple, or as a fraction when it is
// small, so that 0.0002 reads 1/5000.
func formatRatio(r float64) string {
	if r < 0.1 {
		return "1/" + num(1/r)
	}
	return num(r) + "x"
}
