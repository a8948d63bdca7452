package astrajs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/dop251/goja"

	"github.com/terrarium-rl/terrarium/internal/astra/task"
)

// lib runs the runner's library natively in goja (no sandbox: these tests
// check the JavaScript's logic against package task's).
func lib(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	if _, err := rt.RunString("const SET = {}; const TASKS = [];\n" + Library()); err != nil {
		t.Fatal(err)
	}
	return rt
}

// fn returns the library's function name (a top-level declaration or
// const) as a Go function.
func fn(t testing.TB, rt *goja.Runtime, name string) goja.Callable {
	t.Helper()
	v, err := rt.RunString(name)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := goja.AssertFunction(v)
	if !ok {
		t.Fatalf("%s is not a function", name)
	}
	return f
}

// TestUnicodeTables compares the tables' lookups with Go's unicode package
// for every code point of planes 0-3 and 14, where Unicode assigns
// characters, and every 61st code point elsewhere (unassigned and private
// use planes, which the test checks hold no letters, digits or case
// mappings in Go).
func TestUnicodeTables(t *testing.T) {
	rt := lib(t)
	v, err := rt.RunString(`(() => {
		const n = 0x110000, flags = new Uint8Array(n), low = new Int32Array(n);
		for (let c = 0; c < n; c++) {
			if (c >= 0x40000 && (c < 0xe0000 || c >= 0xe1000) && c % 61 !== 0) continue;
			flags[c] = (isSpace(c) ? 1 : 0) | (isLetter(c) ? 2 : 0) | (isDigit(c) ? 4 : 0) | (isCJK(c) ? 8 : 0);
			low[c] = lowerRune(c);
		}
		return [flags.buffer, low.buffer];
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	bufs := v.Export().([]any)
	flags := bufs[0].(goja.ArrayBuffer).Bytes()
	low := bufs[1].(goja.ArrayBuffer).Bytes()
	bad := 0
	for c := rune(0); c <= unicode.MaxRune; c++ {
		want := 0
		for bit, is := range []bool{unicode.IsSpace(c), unicode.IsLetter(c), unicode.IsDigit(c),
			unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)} {
			if is {
				want |= 1 << bit
			}
		}
		if c >= 0x40000 && (c < 0xe0000 || c >= 0xe1000) && c%61 != 0 {
			if want&^1 != 0 || unicode.ToLower(c) != c {
				t.Fatalf("U+%04X is a letter, digit or CJK or has a lower case in Go: test more code points", c)
			}
			continue
		}
		l := rune(int32(uint32(low[4*c]) | uint32(low[4*c+1])<<8 | uint32(low[4*c+2])<<16 | uint32(low[4*c+3])<<24))
		if int(flags[c]) != want || l != unicode.ToLower(c) {
			if bad++; bad <= 10 {
				t.Errorf("U+%04X: flags %04b lower U+%04X, want %04b U+%04X", c, flags[c], l, want, unicode.ToLower(c))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d code points differ", bad)
	}
}

// TestTablesGenerated checks that unicode.js is what gen.go writes with
// this toolchain.
func TestTablesGenerated(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/gen.go", src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "gen.go")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, out)
	}
	got, err := os.ReadFile(dir + "/unicode.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(unicodeJS)) {
		t.Fatal("unicode.js is stale: run go generate ./envs/astrajs")
	}
}

// alphabet mixes what canonicalization and normalization treat specially:
// ASCII letters, digits and separators, white space Go and JavaScript
// disagree about, letters whose case mapping differs between Unicode's
// simple and full mappings (İ, final Σ), full-width forms, CJK, combining
// marks, other scripts' digits and characters outside the BMP.
var alphabet = []string{"a", "B", "z", "Q", "0", "7", ".", ",", " ", "_", "-", "'",
	"\t", "\n", "\u00a0", "\u0085", "\ufeff", "\u2028", "\u3000",
	"İ", "Σ", "ς", "ß", "Ǆ", "Ω", "É", "é", "ÿ", "Ÿ",
	"Ａ", "ｚ", "１", "．", "，",
	"江", "宁", "の", "カ", "한", "。", "《",
	"\u0301", "٣", "४", "𝐀", "😀"}

func randText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := rng.IntN(n + 1); i > 0; i-- {
		b.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// TestNormalize compares the JavaScript normalize and finalMatch with
// task.Normalize and task.FinalMatch on random texts.
func TestNormalize(t *testing.T) {
	rt := lib(t)
	normalize, finalMatch := fn(t, rt, "normalize"), fn(t, rt, "finalMatch")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		s := randText(rng, 12)
		v, err := normalize(goja.Undefined(), rt.ToValue(s))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := rt.ExportTo(v, &got); err != nil {
			t.Fatal(err)
		}
		want := task.Normalize(strings.ToValidUTF8(s, "\uFFFD"))
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("normalize(%q) = %q, want %q", s, got, want)
		}
		gold := randText(rng, 4)
		answer := randText(rng, 3) + gold + randText(rng, 3)
		if rng.IntN(2) == 0 {
			answer = randText(rng, 10)
		}
		m, err := finalMatch(goja.Undefined(), rt.ToValue(answer), rt.ToValue(gold))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.ToBoolean(), task.FinalMatch(answer, gold); got != want {
			t.Fatalf("finalMatch(%q, %q) = %v, want %v", answer, gold, got, want)
		}
	}
}

// randValue makes a random JSON value (numbers kept as written).
func randValue(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(10); {
	case k < 4:
		return randText(rng, 6)
	case k < 6:
		return json.Number([]string{"2", "2.0", "-0", "0", "0.1", "1e3", "1000", "1.5e-7", "-12", "9007199254740993"}[rng.IntN(10)])
	case k < 7:
		return []any{nil, true, false}[rng.IntN(3)]
	case k < 8 && depth > 0:
		a := make([]any, rng.IntN(3))
		for i := range a {
			a[i] = randValue(rng, depth-1)
		}
		return a
	case depth > 0:
		return randObject(rng, depth-1)
	}
	return "x"
}

func randObject(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for i := rng.IntN(4); i > 0; i-- {
		m[[]string{"a", "b", "A", "c d", "é", "__proto__", "1"}[rng.IntN(7)]] = randValue(rng, depth)
	}
	return m
}

func marshal(t testing.TB, v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

// TestKey checks that the JavaScript key makes the same calls equal as
// task.Key: random argument objects and variants of them (case, space,
// defaults, number notation) are compared pairwise in both. Numbers beyond
// float64's range are left out: the JavaScript runner's JSON.parse refuses
// them, so such a call gets a tool error there and "no record" from the Go
// runner (docs/astra.md).
func TestKey(t *testing.T) {
	rt := lib(t)
	key, defaults := fn(t, rt, "key"), fn(t, rt, "defaults")
	rng := rand.New(rand.NewPCG(3, 4))
	jsKey := func(args, schema string) string {
		d, err := defaults(goja.Undefined(), jsonParse(t, rt, schema))
		if err != nil {
			t.Fatal(err)
		}
		v, err := key(goja.Undefined(), jsonParse(t, rt, args), d)
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	goKey := func(args, schema string) string {
		d, err := task.Defaults([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		k, err := task.Key([]byte(args), d)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	pairs, same := 0, 0
	for i := 0; i < 3000; i++ {
		base := randObject(rng, 2)
		props := map[string]any{}
		for _, p := range []string{"a", "b", "unit"} {
			if rng.IntN(2) == 0 {
				props[p] = map[string]any{"default": randValue(rng, 1)}
			}
		}
		schema := marshal(t, map[string]any{"type": "object", "properties": props})
		variants := []string{marshal(t, base)}
		for j := 0; j < 4; j++ {
			variants = append(variants, marshal(t, vary(rng, base, props)))
		}
		gk, jk := make([]string, len(variants)), make([]string, len(variants))
		for i, v := range variants {
			gk[i], jk[i] = goKey(v, schema), jsKey(v, schema)
		}
		for a := range variants {
			for b := range a {
				if g, j := gk[a] == gk[b], jk[a] == jk[b]; g != j {
					t.Fatalf("schema %s:\n%s\n%s\nequal in Go: %v, in JavaScript: %v", schema, variants[a], variants[b], g, j)
				}
				pairs++
				if gk[a] == gk[b] {
					same++
				}
			}
		}
	}
	t.Logf("%d pairs agree, %d of them equal", pairs, same)
	if same < pairs/10 || same > pairs*9/10 {
		t.Errorf("%d of %d pairs equal: the variants do not test both outcomes", same, pairs)
	}
}

func jsonString(t testing.TB, rt *goja.Runtime, v goja.Value) string {
	t.Helper()
	s, err := fn(t, rt, "JSON.stringify")(goja.Undefined(), v)
	if err != nil {
		t.Fatal(err)
	}
	return s.String()
}

func jsonParse(t testing.TB, rt *goja.Runtime, s string) goja.Value {
	t.Helper()
	parse := fn(t, rt, "JSON.parse")
	v, err := parse(goja.Undefined(), rt.ToValue(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// vary changes v the ways agents do, or not at all.
func vary(rng *rand.Rand, v any, props map[string]any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = vary(rng, e, nil)
		}
		for p, s := range props { // spell out or drop a default
			if rng.IntN(3) == 0 {
				m[p] = s.(map[string]any)["default"]
			} else if rng.IntN(3) == 0 {
				delete(m, p)
			}
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = vary(rng, e, nil)
		}
		return a
	case string:
		switch rng.IntN(6) {
		case 0:
			return strings.ToUpper(x)
		case 1:
			return " " + x + alphabet[8+rng.IntN(11)]
		case 2:
			return x + "!"
		}
		return x
	case json.Number:
		f, _ := x.Float64()
		switch rng.IntN(4) {
		case 0:
			return json.Number(fmt.Sprintf("%.1f", f))
		case 1:
			if s := strconv.FormatFloat(f, 'g', -1, 64); !math.IsInf(f, 0) && !strings.ContainsAny(s, "eE") {
				return json.Number(s + "e0")
			}
		}
		return x
	}
	return v
}

// TestReward compares the JavaScript reward with task.Reward on random
// tasks and outcomes, bit for bit.
func TestReward(t *testing.T) {
	rt := lib(t)
	reward := fn(t, rt, "reward")
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		tk := &task.Task{FinalAnswer: randText(rng, 4), Subs: []task.Sub{}}
		for j := rng.IntN(5); j > 0; j-- {
			tk.Subs = append(tk.Subs, task.Sub{Answer: randText(rng, 2), Call: rng.IntN(3) - 1})
		}
		var results []string
		for j := rng.IntN(4); j > 0; j-- {
			results = append(results, randText(rng, 8))
		}
		calls := len(results) + rng.IntN(3)
		final, has := randText(rng, 6), rng.IntN(3) > 0
		mode := []task.Mode{task.ModeF1, task.ModeF1Final, task.ModeFinal}[rng.IntN(3)]
		r, comps := task.Reward(tk, mode, task.Outcome{Results: results, Calls: calls, Final: final, HasFinal: has})
		var jsFinal goja.Value = goja.Null()
		if has {
			jsFinal = rt.ToValue(final)
		}
		if results == nil {
			results = []string{}
		}
		v, err := reward(goja.Undefined(), jsonParse(t, rt, marshal(t, tk)), rt.ToValue(string(mode)),
			rt.ToValue(results), rt.ToValue(calls), jsFinal)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Reward     float64            `json:"reward"`
			Components map[string]float64 `json:"components"`
		}
		if err := json.Unmarshal([]byte(jsonString(t, rt, v)), &got); err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(got.Reward) != math.Float64bits(r) || fmt.Sprint(got.Components) != fmt.Sprint(comps) {
			t.Fatalf("task %+v results %q calls %d final %q/%v mode %s:\njs %v %v\ngo %v %v",
				tk, results, calls, final, has, mode, got.Reward, got.Components, r, comps)
		}
	}
}

// TestPlan compares the JavaScript oracle plan with task.Plan.
func TestPlan(t *testing.T) {
	rt := lib(t)
	plan := fn(t, rt, "plan")
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 3000; i++ {
		tk := &task.Task{Subs: []task.Sub{}}
		for j := rng.IntN(8); j > 0; j-- {
			tk.Subs = append(tk.Subs, task.Sub{Level: 1 + rng.IntN(4), Call: rng.IntN(6) - 1})
		}
		v, err := plan(goja.Undefined(), jsonParse(t, rt, marshal(t, tk)))
		if err != nil {
			t.Fatal(err)
		}
		var got [][]int
		if err := rt.ExportTo(v, &got); err != nil {
			t.Fatal(err)
		}
		if want := task.Plan(tk); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("plan of %+v: %v, want %v", tk.Subs, got, want)
		}
	}
}
