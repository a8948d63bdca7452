package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/internal/testenv"
	"github.com/terrarium-rl/terrarium/sdk"
)

func TestQuantile(t *testing.T) {
	for _, tt := range []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"one sample", []float64{7}, 0.9, 7},
		{"median of odd count", []float64{5, 1, 3}, 0.5, 3},
		{"median of even count interpolates", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"p90 interpolates", []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110}, 0.9, 100},
		{"p90 between ranks", []float64{1, 2, 3, 4}, 0.9, 3.7},
		{"minimum", []float64{3, 1, 2}, 0, 1},
		{"maximum", []float64{3, 1, 2}, 1, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.xs...)
			if got := quantile(tt.xs, tt.q); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("quantile(%v, %v) = %v, want %v", tt.xs, tt.q, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.xs[i] {
					t.Fatalf("quantile reordered its input: %v, was %v", tt.xs, in)
				}
			}
		})
	}
	if got := quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile of no samples = %v, want NaN", got)
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"4096", 4096, false},
		{"512MiB", 512 << 20, false},
		{"8 GiB", 8 << 30, false},
		{"2GB", 2e9, false},
		{"3kB", 3000, false},
		{" 1KiB ", 1024, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"1.5GiB", 0, true},
		{"-1", 0, true},
		{"12XB", 0, true},
		{"99999999999TiB", 0, true},
		{"9223372036854775808", 0, true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "512MiB", "8 GiB", "2GB", "1.5GiB", "", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
	})
}

const rollup = `55d5e8c4e000-7ffd6b1f5000 ---p 00000000 00:00 0                          [rollup]
Rss:              182348 kB
Pss:              150123 kB
Pss_Anon:         101234 kB
Shared_Clean:      40000 kB
`

func TestParseRollup(t *testing.T) {
	for _, tt := range []struct {
		name, in, key string
		want          int64
		err           bool
	}{
		{"pss", rollup, "Pss", 150123 << 10, false},
		{"rss", rollup, "Rss", 182348 << 10, false},
		{"a prefix of another key does not match", rollup, "Pss_A", 0, true},
		{"missing", "Rss: 1 kB\n", "Pss", 0, true},
		{"no unit", "Pss: 12\n", "Pss", 0, true},
		{"other unit", "Pss: 12 MB\n", "Pss", 0, true},
		{"not a number", "Pss: x kB\n", "Pss", 0, true},
		{"negative", "Pss: -5 kB\n", "Pss", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRollup([]byte(tt.in), tt.key)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("parseRollup(%q) = %d, %v; want %d, error %v", tt.key, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzParseRollup(f *testing.F) {
	f.Add([]byte(rollup))
	f.Add([]byte("Pss: 99999999999999999999 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := parseRollup(b, "Pss"); err == nil && n < 0 {
			t.Fatalf("parseRollup = %d, negative", n)
		}
	})
}

func TestMemoryUsage(t *testing.T) {
	n, err := memoryUsage()
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 {
		t.Fatalf("memory usage %d, want positive", n)
	}
}

func TestFindRoot(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "bench", "bench.go")); err != nil {
		t.Fatalf("FindRoot(.) = %s, which does not hold this package: %v", root, err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if r, err := FindRoot(other); err == nil && r == other {
		t.Errorf("FindRoot took a go.mod of another module: %s", r)
	}
	for _, tt := range []struct {
		gomod string
		want  bool
	}{
		{"module github.com/terrarium-rl/terrarium\n\ngo 1.26\n", true},
		{"// comment\nmodule \"github.com/terrarium-rl/terrarium\"\n", true},
		{"module github.com/terrarium-rl/terrarium/sub\n", false},
		{"go 1.26\n", false},
	} {
		if got := declaresModule([]byte(tt.gomod), modulePath); got != tt.want {
			t.Errorf("declaresModule(%q) = %v, want %v", tt.gomod, got, tt.want)
		}
	}
}

// The bench's echo env must stay the runtime's test env: the same code
// below each file's package clause.
// The episode figures check that oracle episodes score fully; so must the
// native floor's.
func TestNativeEchoEpisode(t *testing.T) {
	n := sdk.NewNative(testenv.New)
	for seed := range uint64(5) {
		if err := playNative(n, seed, int(seed%4)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Reset(1, 0); err != nil {
		t.Fatal(err)
	}
	res, err := n.Step(sayHello)
	if err != nil {
		t.Fatal(err)
	}
	if err := oneTool(&res); err != nil {
		t.Fatal(err)
	}
	if err := oneTool(&res); err != nil || !strings.Contains(res.Messages[0].Content, `"echo":"hello"`) {
		t.Fatalf("say answered %q", res.Messages[0].Content)
	}
}

func TestRecordCall(t *testing.T) {
	records := []byte(`{"uuid":"a","env_result":{"1":null}}
{"uuid":"b","env_result":{"2":{"env_synthesis_result":{"data":{"tool_document":{"name":"f"},"tool_call_statement":"f(x=2)","code":"def f(x): return x","tool_call_ans":"2\n"}}},"1":{"env_synthesis_result":{"data":{"tool_document":{"name":"f"},"tool_call_statement":"f(x=1)","code":"def f(x): return x","tool_call_ans":"1\n"}}}}}
`)
	for _, tt := range []struct {
		name, uuid, tool, answer string
		stmt                     string
		err                      bool
	}{
		{"the call that printed the answer", "b", "f", "2", "f(x=2)", false},
		{"another call of the same tool", "b", "f", "1", "f(x=1)", false},
		{"no such answer", "b", "f", "3", "", true},
		{"no such tool", "b", "g", "1", "", true},
		{"no code", "a", "f", "1", "", true},
		{"no such record", "c", "f", "1", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stmt, err := recordCall(records, tt.uuid, tt.tool, tt.answer)
			if (err != nil) != tt.err || stmt != tt.stmt || (err == nil && code != "def f(x): return x") {
				t.Errorf("recordCall = %q, %q, %v; want statement %q, error %v", code, stmt, err, tt.stmt, tt.err)
			}
		})
	}
}

func TestLinkAndTargets(t *testing.T) {
	rs := []Result{
		{Name: "instantiate/go", P50: 1000},
		{Name: "reset/go", P50: 10, Baseline: "instantiate/go"},
		{Name: "reset/js", P50: 30},
		{Name: "step/wat", P50: 1.5},
		{Name: "step/wat-call-raw", P50: 1},
		{Name: "call/python-subprocess", P50: 80000},
		{Name: "call/astra", P50: 40, Baseline: "call/python-subprocess"},
		{Name: "live/js-in-8GiB", P50: 12000},
		{Name: "step/js-raw", P50: 100},
		{Name: "step/js-raw-fuel", P50: 120, Baseline: "step/js-raw"},
		{Name: "orphan", P50: 5, Baseline: "missing"},
	}
	link(rs)
	ratio := map[string]float64{}
	for _, r := range rs {
		ratio[r.Name] = r.Ratio
	}
	for name, want := range map[string]float64{"reset/go": 0.01, "call/astra": 0.0005, "step/js-raw-fuel": 1.2, "orphan": 0, "step/wat": 0} {
		if math.Abs(ratio[name]-want) > 1e-12 {
			t.Errorf("%s: ratio %v, want %v", name, ratio[name], want)
		}
	}
	want := map[string]bool{
		"reset p50 (go)": true, "reset p50 (js)": false, "host-guest round trip": true,
		"ASTRA tool call speed-up": false, "live JS episodes in 8 GiB": true, "fuel overhead (step/js-raw)": false,
	}
	got := targets(rs)
	if len(got) != len(want) {
		t.Fatalf("targets %+v, want %d of them", got, len(want))
	}
	for _, tg := range got {
		if met, ok := want[tg.Name]; !ok || met != tg.Met {
			t.Errorf("target %q met=%v (measured %v), want %v (known %v)", tg.Name, tg.Met, tg.Measured, met, ok)
		}
	}
}

// A figure with its own timer reports that part's mean per sample, not
// the whole operation's, and refuses a batch in which the part never ran.
func TestTimedOwnPart(t *testing.T) {
	ctx := context.Background()
	var total time.Duration
	var n int64
	tm := &timed{Result: Result{Name: "part"}, batch: 4,
		op: func(context.Context) error {
			total += 3 * time.Microsecond
			n++
			time.Sleep(200 * time.Microsecond) // the rest of the operation, not reported
			return nil
		},
		own: func() (time.Duration, int64) { return total, n },
	}
	for range 3 {
		if err := tm.sample(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r := tm.result(); r.P50 != 3 || r.Ops != 12 {
		t.Errorf("p50 %v us over %d ops, want 3 us over 12", r.P50, r.Ops)
	}
	idle := &timed{Result: Result{Name: "idle"}, batch: 2, op: func(context.Context) error { return nil },
		own: func() (time.Duration, int64) { return 0, 0 }}
	if err := idle.sample(ctx); err == nil || !strings.Contains(err.Error(), "no operation was counted") {
		t.Errorf("idle part: %v", err)
	}
}

func TestReverseKeys(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"compound":"ethanol","property":"boiling_point"}`, `{"property": "boiling_point", "compound": "ethanol"}`},
		{`{"a":[1,2],"b":{"c":null},"d":"x"}`, `{"d": "x", "b": {"c":null}, "a": [1,2]}`},
		{`{}`, `{}`},
	} {
		got, err := reverseKeys([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("reverseKeys(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := reverseKeys([]byte(`[1]`)); err == nil {
		t.Error("reverseKeys accepted an array")
	}
}
