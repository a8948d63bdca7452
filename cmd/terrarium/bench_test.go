package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/bench"
)

// The issue names these figures; the JSON must always carry them.
var requiredFigures = []string{
	"instantiate/js", "reset/js", "reset/go", "start/js", "start/go", "fork/go", "fork/js", "step/js", "step/go", "step/native",
	"call/python-subprocess", "call/astra", "episode/astra", "episode/astra-js", "call/astra-js", "call/astra-rewritten", "memory/live-episode-js",
	"memory/live-episode-go", "live/js-in-8GiB", "live/js-in-budget", "episodes/js/c1", "episodes/go/c1",
	"step/wat", "step/wat-call-raw", "step/go-raw", "step/go-raw-fuel", "step/js-raw-fuel", "call/astra-raw-fuel", "step/go-nofuel",
}

// TestBenchJSON runs the whole bench with the fewest samples and checks
// the report's shape, not its timings.
func TestBenchJSON(t *testing.T) {
	code, out, errOut := run("bench", "--quick", "--json", "--samples", "2", "--live", "3", "--memory-budget", "12MiB")
	if code != exitOK {
		t.Fatalf("bench exit %d\nstderr: %s", code, errOut)
	}
	var rep struct {
		Results []map[string]any `json:"results"`
		Targets []bench.Target   `json:"targets"`
		Machine bench.Machine    `json:"machine"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	units := map[string]bool{bench.UnitMicros: true, bench.UnitBytes: true, bench.UnitRate: true, bench.UnitEpisodes: true}
	byName := map[string]map[string]any{}
	for _, r := range rep.Results {
		name, _ := r["name"].(string)
		if byName[name] != nil {
			t.Errorf("figure %q reported twice", name)
		}
		byName[name] = r
		if u, _ := r["unit"].(string); !units[u] {
			t.Errorf("%s: unit %q", name, r["unit"])
		}
		for _, k := range []string{"p50", "p90"} {
			if v, ok := r[k].(float64); !ok || math.IsNaN(v) || v <= 0 {
				t.Errorf("%s: %s = %v, want a positive number", name, k, r[k])
			}
		}
		if n, _ := r["samples"].(float64); n < 1 {
			t.Errorf("%s: %v samples", name, r["samples"])
		}
	}
	for _, name := range requiredFigures {
		if byName[name] == nil {
			t.Errorf("no figure %q", name)
		}
	}
	for name, r := range byName {
		b, _ := r["baseline"].(string)
		if b == "" {
			continue
		}
		if byName[b] == nil {
			t.Errorf("%s: baseline %q is not a figure", name, b)
		}
		if ratio, ok := r["ratio"].(float64); !ok || ratio <= 0 {
			t.Errorf("%s: ratio %v against %s", name, r["ratio"], b)
		}
	}
	if m := rep.Machine; m.GOMAXPROCS < 1 || m.CoresAvailable <= 0 {
		t.Errorf("machine %+v: want GOMAXPROCS and the cores found free", m)
	}
	if len(rep.Targets) < 6 {
		t.Errorf("%d targets reported, want every one the issue states", len(rep.Targets))
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("progress drawn although stderr is not a terminal: %q", errOut)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "extra"},
		{"bench", "--memory-budget", "12XB"},
		{"bench", "--live", "-1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, errOut := run(args...); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, errOut)
			}
		})
	}
}

func TestPrintReport(t *testing.T) {
	rep := &bench.Report{
		Results: []bench.Result{
			{Name: "step/native", P50: 5.5, P90: 6, Unit: bench.UnitMicros},
			{Name: "step/go", P50: 310, P90: 330, Unit: bench.UnitMicros, Baseline: "step/native", Ratio: 56.4},
			{Name: "call/astra", P50: 450, P90: 500, Unit: bench.UnitMicros, Baseline: "call/python-subprocess", Ratio: 0.0061},
			{Name: "memory/live-episode-js", P50: 4 << 20, P90: 5 << 20, Unit: bench.UnitBytes},
		},
		Targets: []bench.Target{{Name: "reset p50 (go)", Goal: "<= 20 us", Measured: 1100, Unit: "us", Met: false, From: "reset/go"}},
		Machine: bench.Machine{CPU: "Test CPU", NumCPU: 2, GOMAXPROCS: 2, OS: "linux", Arch: "amd64", Go: "go1.26"},
	}
	var b bytes.Buffer
	printReport(&b, rep)
	out := b.String()
	for _, want := range []string{"56.4x", "1/164", "4.00", "MiB", "MISSED", "reset/go", "Test CPU, 2 CPUs"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Names align left, figures and ratios right.
	lines := strings.Split(out, "\n")
	col, end := strings.Index(lines[0], "name"), strings.Index(lines[0], "ratio")+len("ratio")
	for i, r := range rep.Results {
		l := lines[i+1]
		if strings.Index(l, r.Name+" ") != col {
			t.Errorf("row %q: name not under the name heading (column %d)", l, col)
		}
		if r.Ratio != 0 && (len(l) <= end || l[end-1] != 'x' && !strings.Contains(l[end-6:end], "/")) {
			t.Errorf("row %q: ratio does not end under the ratio heading (column %d)", l, end)
		}
	}
}
