package astra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/pack"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// samplePath is ASTRA's sample file, in the shared folder beside the
// repository (as in CI).
const samplePath = "../../../shared/astra/sample.jsonl"

var (
	hostOnce sync.Once
	host     *trt.Host
	hostErr  error
)

// testHost is one host for the package's tests: compiling the runner once
// saves seconds per test.
func testHost(t testing.TB) *trt.Host {
	hostOnce.Do(func() { host, hostErr = trt.New(context.Background(), trt.NewConfig()) })
	if hostErr != nil {
		t.Fatal(hostErr)
	}
	return host
}

// importFiles compiles the records files (concatenated) into a pack in a
// temporary directory and loads it into the tests' host.
func importFiles(t testing.TB, opts Options, files ...string) (*Result, *trt.Env) {
	t.Helper()
	return importKind(t, KindGo, opts, files...)
}

// importKind is importFiles for a pack of the given output kind.
func importKind(t testing.TB, kind Kind, opts Options, files ...string) (*Result, *trt.Env) {
	t.Helper()
	var all bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	res, err := Compile(context.Background(), &all, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := WritePackKind(dir, res, kind); err != nil {
		t.Fatal(err)
	}
	p, err := pack.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := p.Source("")
	if err != nil {
		t.Fatal(err)
	}
	env, err := testHost(t).Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close(context.Background()) })
	return res, env
}

// episode is a played episode: its transcript (every reply's bytes) and
// score.
type episode struct {
	obs        *abi.Observation
	transcript []byte
	score      *abi.Score
}

// play runs task with actions chosen by policy (given the episode so far)
// until the episode ends or 20 turns pass.
func play(t *testing.T, env *trt.Env, seed uint64, taskIdx int,
	policy func(ep *trt.Episode, obs *abi.Observation, turn int) abi.Message) episode {
	t.Helper()
	ctx := context.Background()
	ep, obs, err := env.Start(ctx, seed, taskIdx)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	var tr bytes.Buffer
	b, _ := json.Marshal(obs)
	tr.Write(b)
	for turn := 0; turn < 20 && !ep.Done(); turn++ {
		act := policy(ep, obs, turn)
		res, err := ep.Step(ctx, act)
		if err != nil {
			t.Fatalf("task %d turn %d: step: %v", taskIdx, turn, err)
		}
		b, _ := json.Marshal(res)
		tr.Write(b)
	}
	s, err := ep.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return episode{obs: obs, transcript: tr.Bytes(), score: s}
}

func oracle(t *testing.T) func(ep *trt.Episode, _ *abi.Observation, _ int) abi.Message {
	return func(ep *trt.Episode, _ *abi.Observation, _ int) abi.Message {
		m, err := ep.Oracle(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return *m
	}
}

func null(*trt.Episode, *abi.Observation, int) abi.Message {
	return abi.Message{Role: abi.RoleAssistant, Content: ""}
}

// TestOracleAndNull imports the shared sample and the test records and runs
// every task through the runtime with the oracle (reward 1 within ε, twice,
// with identical transcripts) and the null policy (reward 0). The other
// reward modes are run natively by envs/astra's tests, since every
// episode here starts a wasm instance.
func TestOracleAndNull(t *testing.T) {
	for _, mode := range []task.Mode{task.ModeF1} {
		t.Run(string(mode), func(t *testing.T) {
			res, env := importFiles(t, Options{Mode: mode}, samplePath, "testdata/records.jsonl")
			if len(res.Skipped) > 0 {
				t.Fatalf("skipped: %v", res.Skipped)
			}
			if got, want := env.Spec().Tasks, 8; got != want {
				t.Fatalf("%d tasks, want %d", got, want)
			}
			for i, tk := range res.Tasks {
				t.Run(tk.UUID, func(t *testing.T) {
					a := play(t, env, 7, i, oracle(t))
					if a.score.Reward < 1-task.Epsilon {
						t.Errorf("oracle reward %v, want 1 (components %v)", a.score.Reward, a.score.Components)
					}
					if b := play(t, env, 7, i, oracle(t)); !bytes.Equal(a.transcript, b.transcript) {
						t.Errorf("oracle episodes differ:\n%s\n%s", a.transcript, b.transcript)
					}
					if n := play(t, env, 7, i, null); n.score.Reward != 0 {
						t.Errorf("null reward %v, want 0 (components %v)", n.score.Reward, n.score.Components)
					}
					if a.obs.Messages[0].Role != abi.RoleUser || a.obs.Messages[0].Content != tk.Question {
						t.Errorf("opening messages %+v, want the main question", a.obs.Messages)
					}
				})
			}
		})
	}
}

// TestOracleTurns checks the oracle's shape on the sample's tasks: one turn
// per dependency level with tool calls in it, parallel calls together.
func TestOracleTurns(t *testing.T) {
	res, env := importFiles(t, Options{}, samplePath, "testdata/records.jsonl")
	want := map[string][]int{ // calls per assistant turn, then the answer
		"3f2b7c1e-0a51-4c39-9a0e-5d1f0c2b9a11": {1, 0},
		"8c0d4e2a-7b6f-4f0e-b1d3-2e9a6c5f4b22": {1, 1, 1, 0},
		"b5e19f07-3c2d-4a8b-9f6e-71c0d3a2e833": {2, 0},
		"t1-parallel-merged":                   {2, 1, 0},
		"t4-positional":                        {1, 0},
	}
	for i, tk := range res.Tasks {
		w, ok := want[tk.UUID]
		if !ok {
			continue
		}
		t.Run(tk.UUID, func(t *testing.T) {
			var got []int
			e := play(t, env, 1, i, func(ep *trt.Episode, obs *abi.Observation, turn int) abi.Message {
				m := oracle(t)(ep, obs, turn)
				got = append(got, len(m.ToolCalls))
				return m
			})
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("oracle turns %v, want %v", got, w)
			}
			if e.score.Components["calls"] != float64(len(tk.Calls)) {
				t.Errorf("calls %v, want %d", e.score.Components["calls"], len(tk.Calls))
			}
		})
	}
}

func callAction(calls ...[2]string) abi.Message {
	m := abi.Message{Role: abi.RoleAssistant}
	for i, c := range calls {
		m.ToolCalls = append(m.ToolCalls, abi.ToolCall{ID: fmt.Sprintf("c%d", i), Type: "function",
			Function: abi.FunctionCall{Name: c[0], Arguments: c[1]}})
	}
	return m
}

// TestMatching calls the sample's tools the way an agent might: variants of
// a verified call still score, other calls get the deterministic no-record
// result, malformed ones a readable error, and none ends the episode.
func TestMatching(t *testing.T) {
	res, env := importFiles(t, Options{}, samplePath, "testdata/records.jsonl")
	index := map[string]int{}
	for i, tk := range res.Tasks {
		index[tk.UUID] = i
	}
	const ethanol = "3f2b7c1e-0a51-4c39-9a0e-5d1f0c2b9a11"
	const towers = "b5e19f07-3c2d-4a8b-9f6e-71c0d3a2e833"
	const chinese = "e7a3d9c4-5f18-4b2e-8c6a-0d9b1f7e2c44"
	tests := []struct {
		name    string
		task    string
		call    [2]string
		content string // the tool message's content, or a substring of an error
		solved  float64
	}{
		{"as recorded", ethanol, [2]string{"chemical_property_lookup", `{"compound":"ethanol","property":"boiling_point"}`},
			"{'compound': 'ethanol', 'property': 'boiling_point', 'value': 78.37, 'unit': 'celsius'}", 1},
		{"keys reordered", ethanol, [2]string{"chemical_property_lookup", `{"property":"boiling_point","compound":"ethanol"}`},
			"{'compound': 'ethanol', 'property': 'boiling_point', 'value': 78.37, 'unit': 'celsius'}", 1},
		{"default spelled out", ethanol, [2]string{"chemical_property_lookup", `{"compound":"ethanol","property":"boiling_point","unit":"celsius"}`},
			"{'compound': 'ethanol', 'property': 'boiling_point', 'value': 78.37, 'unit': 'celsius'}", 1},
		{"different case and spaces", ethanol, [2]string{"chemical_property_lookup", `{"compound":" Ethanol ","property":"boiling_point"}`},
			"{'compound': 'ethanol', 'property': 'boiling_point', 'value': 78.37, 'unit': 'celsius'}", 1},
		{"recorded default left out", towers, [2]string{"landmark_info", `{"name":"EIFFEL TOWER"}`},
			"{'name': 'Eiffel Tower', 'height_m': 330}", 1},
		{"chinese", chinese, [2]string{"book_author_lookup", `{"title":"红楼梦"}`}, "《红楼梦》的作者是曹雪芹", 1},
		{"other arguments", ethanol, [2]string{"chemical_property_lookup", `{"compound":"water","property":"boiling_point"}`},
			`{"error":"no record for these arguments"}`, 0},
		{"answer as an argument does not solve", chinese, [2]string{"book_author_lookup", `{"title":"曹雪芹"}`},
			`{"error":"no record for these arguments"}`, 0},
		{"other default value", ethanol, [2]string{"chemical_property_lookup", `{"compound":"ethanol","property":"boiling_point","unit":"fahrenheit"}`},
			`{"error":"no record for these arguments"}`, 0},
		{"enum violated", ethanol, [2]string{"chemical_property_lookup", `{"compound":"ethanol","property":"BOILING_POINT"}`},
			"invalid arguments", 0},
		{"wrong type", ethanol, [2]string{"chemical_property_lookup", `{"compound":1,"property":"density"}`}, "invalid arguments", 0},
		{"missing required", ethanol, [2]string{"chemical_property_lookup", `{"compound":"ethanol"}`}, "missing propert", 0},
		{"not JSON", ethanol, [2]string{"chemical_property_lookup", `{"compound":`}, "not valid JSON", 0},
		{"unknown tool", ethanol, [2]string{"nope", `{}`}, "unknown tool", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ep, _, err := env.Start(ctx, 3, index[tt.task])
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close(ctx)
			r, err := ep.Step(ctx, callAction(tt.call))
			if err != nil {
				t.Fatal(err)
			}
			if r.Done || len(r.Messages) != 1 {
				t.Fatalf("step result %+v, want one tool message and the episode going on", r)
			}
			got := r.Messages[0].Content
			if tt.solved == 1 && got != tt.content || tt.solved == 0 && !strings.Contains(got, tt.content) {
				t.Errorf("content %q, want %q", got, tt.content)
			}
			s, err := ep.Score(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Components["solved"] != tt.solved || s.Components["calls"] != 1 {
				t.Errorf("components %v, want solved %v of 1 call", s.Components, tt.solved)
			}
		})
	}
}

// TestDistractors checks distractor tools: k extra tools from other tasks,
// no name clash, chosen by the seed, and harmless to the oracle.
func TestDistractors(t *testing.T) {
	const k = 2
	res, env := importFiles(t, Options{Distractors: k}, samplePath, "testdata/records.jsonl")
	if env.Spec().Tasks != len(res.Tasks) {
		t.Fatalf("spec has %d tasks, want %d", env.Spec().Tasks, len(res.Tasks))
	}
	owners := map[string]bool{} // tool names of all tasks
	for _, tk := range res.Tasks {
		for _, tl := range tk.Tools {
			owners[tl.Name] = true
		}
	}
	for i, tk := range res.Tasks {
		t.Run(tk.UUID, func(t *testing.T) {
			real := map[string]bool{}
			for _, tl := range tk.Tools {
				real[tl.Name] = true
			}
			lists := map[string]bool{}
			for seed := uint64(0); seed < 4; seed++ {
				e := play(t, env, seed, i, oracle(t))
				if e.score.Reward < 1-task.Epsilon {
					t.Errorf("seed %d: oracle reward %v with distractors", seed, e.score.Reward)
				}
				names := map[string]bool{}
				var list []string
				for _, tl := range e.obs.Tools {
					n := tl.Function.Name
					if names[n] {
						t.Errorf("seed %d: tool %s offered twice", seed, n)
					}
					names[n] = true
					list = append(list, n)
					if !owners[n] {
						t.Errorf("seed %d: tool %s comes from no task", seed, n)
					}
				}
				for n := range real {
					if !names[n] {
						t.Errorf("seed %d: real tool %s missing", seed, n)
					}
				}
				if got := len(e.obs.Tools) - len(real); got != k {
					t.Errorf("seed %d: %d distractors, want %d", seed, got, k)
				}
				if seed == 0 {
					again := play(t, env, seed, i, oracle(t))
					if !bytes.Equal(e.transcript, again.transcript) {
						t.Errorf("seed %d: episodes differ", seed)
					}
				}
				lists[strings.Join(list, ",")] = true
			}
			if len(lists) < 2 {
				t.Errorf("4 seeds gave %d tool list(s), want the seed to vary them", len(lists))
			}
		})
	}
}

// TestDistractorAnswers checks that a distractor answers its own record's
// verified calls, and that calling it costs precision.
func TestDistractorAnswers(t *testing.T) {
	res, env := importFiles(t, Options{Distractors: 7}, samplePath, "testdata/records.jsonl")
	ctx := context.Background()
	ep, obs, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	var other *task.Task
	for _, tk := range res.Tasks[1:] {
		for _, tl := range obs.Tools {
			if tl.Function.Name == tk.Calls[0].Tool {
				other = tk
			}
		}
	}
	if other == nil {
		t.Fatalf("none of 7 distractors is the first tool of another task: %v", obs.Tools)
	}
	c := other.Calls[0]
	r, err := ep.Step(ctx, callAction([2]string{c.Tool, string(c.Arguments)}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages[0].Content != c.Answer {
		t.Errorf("distractor %s answered %q, want its record's %q", c.Tool, r.Messages[0].Content, c.Answer)
	}
	s, _ := ep.Score(ctx)
	if s.Components["calls"] != 1 || s.Components["precision"] != 0 {
		t.Errorf("components %v after a distractor call, want 1 call and precision 0", s.Components)
	}
}

// TestBrokenRecords imports a file of broken records among good ones: each
// broken one is reported with its uuid and reason, the others compile.
func TestBrokenRecords(t *testing.T) {
	good, err := os.ReadFile("testdata/records.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	broken, err := os.ReadFile("testdata/broken.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	in.Write(broken)
	in.WriteString("\n\n")                                                  // blank lines are skipped
	in.WriteString(`{"uuid": "b-latin1", "x": "caf` + "\xe9" + `"}` + "\n") // not UTF-8
	in.Write(good)
	in.Write(bytes.SplitN(good, []byte("\n"), 2)[0]) // a duplicate uuid, no final newline
	var last Progress
	res, err := Compile(context.Background(), &in, Options{Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // uuid -> reason substring
		"b-no-schema":            "no tool_document",
		"b-unparsable-call":      "unparsable tool_call_statement",
		"b-answer-not-in-output": "does not occur in the tool's output",
		"b-wrong-function":       `calls "weather" but the tool is "forecast"`,
		"b-schema-mismatch":      "does not fit the tool's schema",
		"b-all-null":             "no tool-backed sub-question",
		"b-cycle":                "cycle",
		"b-no-final-answer":      "no final_answer",
		"b-not-json":             "not a record",
		"":                       "",
		"t1-parallel-merged":     "duplicate uuid",
	}
	got := map[string]string{}
	for _, s := range res.Skipped {
		got[s.UUID] = s.Reason
		if s.Line == 0 {
			t.Errorf("skip %v has no line", s)
		}
	}
	for uuid, reason := range want {
		r, ok := got[uuid]
		if !ok {
			t.Errorf("record %q was not skipped", uuid)
		} else if !strings.Contains(r, reason) {
			t.Errorf("record %q skipped for %q, want %q", uuid, r, reason)
		}
	}
	var utf8Skip bool
	for _, s := range res.Skipped {
		utf8Skip = utf8Skip || strings.Contains(s.Reason, "UTF-8")
	}
	if !utf8Skip {
		t.Errorf("the non-UTF-8 line was not reported: %v", res.Skipped)
	}
	if len(res.Tasks) != 4 || len(res.Skipped) != len(want)+1 || res.Records != len(res.Tasks)+len(res.Skipped) {
		t.Errorf("%d tasks, %d skipped of %d records; want 4, %d", len(res.Tasks), len(res.Skipped), res.Records, len(want)+1)
	}
	if last.Records != res.Records || last.Tasks != 4 || last.Bytes == 0 {
		t.Errorf("last progress %+v", last)
	}
}

// TestNoTasks checks that an input without a good record is an error.
func TestNoTasks(t *testing.T) {
	f, err := os.Open("testdata/broken.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Compile(context.Background(), f, Options{})
	if err == nil || res == nil || len(res.Skipped) == 0 {
		t.Fatalf("Compile of broken records only: %v, want ErrNoTasks with the skips", err)
	}
}

// TestScoreComponents checks the reward's components on a partial episode
// through the runtime: one of three sub-questions solved with two calls.
func TestScoreComponents(t *testing.T) {
	res, env := importFiles(t, Options{Mode: task.ModeF1}, samplePath)
	i := -1
	for j, tk := range res.Tasks {
		if tk.UUID == "8c0d4e2a-7b6f-4f0e-b1d3-2e9a6c5f4b22" {
			i = j
		}
	}
	e := play(t, env, 5, i, func(_ *trt.Episode, _ *abi.Observation, turn int) abi.Message {
		switch turn {
		case 0:
			return callAction([2]string{"country_info", `{"country":"australia","field":"capital"}`},
				[2]string{"airport_lookup", `{"city":"Sydney"}`})
		}
		return abi.Message{Role: abi.RoleAssistant, Content: "Qantas"}
	})
	c := e.score.Components
	p, r := 1/(2+task.Epsilon), 1.0/3
	if c["solved"] != 1 || c["n"] != 3 || c["calls"] != 2 || c["final_match"] != 1 ||
		math.Abs(e.score.Reward-2*p*r/(p+r)) > 1e-12 {
		t.Errorf("score %v %v", e.score.Reward, c)
	}
}

func TestWritePackIsPack(t *testing.T) {
	f, err := os.Open(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Compile(context.Background(), f, Options{Name: "sample", Version: "0.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d1, err := WritePack(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pack.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Manifest
	if m.Name != "sample" || m.Version != "0.2.0" || m.Environments[0].Module != ModulePath ||
		m.Environments[0].Config != TasksPath || m.Provenance.SourceRecordsSHA256 != res.SourceSHA256 {
		t.Errorf("manifest %+v", m)
	}
	// The same input gives the same pack.
	dir2 := t.TempDir()
	d2, err := WritePack(dir2, res)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("digests %s and %s differ", d1, d2)
	}
	b, _ := os.ReadFile(filepath.Join(dir, TasksPath))
	if !json.Valid(b) {
		t.Error("data/tasks.json is not JSON")
	}
}

// TestCompileDeterministic checks that compiling the same records twice
// gives the same task set bytes, distractor candidates included.
func TestCompileDeterministic(t *testing.T) {
	var records bytes.Buffer
	genRecords(t, &records, 300)
	var sets [2][]byte
	for i := range sets {
		res, err := Compile(context.Background(), bytes.NewReader(records.Bytes()), Options{Distractors: 3})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := res.WriteTaskSet(&out); err != nil {
			t.Fatal(err)
		}
		sets[i] = out.Bytes()
		for _, tk := range res.Tasks {
			if len(tk.Distractors) != 3 || len(tk.Distractors[0])+len(tk.Distractors[1])+len(tk.Distractors[2]) < 3 {
				t.Fatalf("task %s: distractor bands %v", tk.UUID, tk.Distractors)
			}
		}
	}
	if !bytes.Equal(sets[0], sets[1]) {
		t.Error("two compilations of the same records differ")
	}
}

// TestLargeImport runs a task set larger than the host's default request
// limit (a configuration is not an agent's request) and checks that tasks
// anywhere in it, located by offset, play to reward 1 with distractors.
func TestLargeImport(t *testing.T) {
	const n = 3000
	path := filepath.Join(t.TempDir(), "records.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	genRecords(t, f, n)
	f.Close()
	res, env := importFiles(t, Options{Distractors: 3}, path)
	if len(res.Tasks) != n || env.Spec().Tasks != n {
		t.Fatalf("%d tasks compiled, %d in the spec, want %d", len(res.Tasks), env.Spec().Tasks, n)
	}
	var set bytes.Buffer
	if err := res.WriteTaskSet(&set); err != nil {
		t.Fatal(err)
	}
	if set.Len() <= trt.DefaultRequestLimit {
		t.Fatalf("task set of %d bytes is not larger than the request limit %d", set.Len(), trt.DefaultRequestLimit)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		e := play(t, env, uint64(i), i, oracle(t))
		if e.score.Reward < 1-task.Epsilon {
			t.Errorf("task %d: oracle reward %v", i, e.score.Reward)
		}
		if e.obs.Messages[0].Content != res.Tasks[i].Question {
			t.Errorf("task %d: question %q, want %q", i, e.obs.Messages[0].Content, res.Tasks[i].Question)
		}
	}
}
