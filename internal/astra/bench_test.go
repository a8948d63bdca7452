package astra

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
)

// genRecords writes n synthetic records to w: the sample and test records
// as templates, each copy with a new uuid, its tools renamed (in the
// schema, the call statement and the code alike) and their descriptions
// extended with words from a vocabulary, so that tool names are distinct
// and similarities vary as in a real import.
func genRecords(t testing.TB, w io.Writer, n int) {
	var templates [][]byte
	for _, f := range []string{samplePath, "testdata/records.jsonl"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			templates = append(templates, l)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 3000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%x", rng.Uint32()&0xfffff)
	}
	bw := bufio.NewWriter(w)
	for i := 0; i < n; i++ {
		var rec map[string]any
		if err := json.Unmarshal(templates[i%len(templates)], &rec); err != nil {
			t.Fatal(err)
		}
		rec["uuid"] = fmt.Sprintf("gen-%06d", i)
		envs, _ := rec["env_result"].(map[string]any)
		keys := make([]string, 0, len(envs))
		for k := range envs {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the generator must be deterministic too
		for _, key := range keys {
			em, ok := envs[key].(map[string]any)
			if !ok {
				continue
			}
			data := em["env_synthesis_result"].(map[string]any)["data"].(map[string]any)
			doc := data["tool_document"].(map[string]any)
			old := doc["name"].(string)
			name := fmt.Sprintf("%s_%d", old, i)
			doc["name"] = name
			words := []string{doc["description"].(string)}
			for k := 0; k < 6; k++ {
				words = append(words, vocab[int(rng.NormFloat64()*300+1500+3000)%3000])
			}
			doc["description"] = strings.Join(words, " ")
			data["tool_call_statement"] = strings.Replace(data["tool_call_statement"].(string), old+"(", name+"(", 1)
			data["code"] = strings.Replace(data["code"].(string), "def "+old+"(", "def "+name+"(", 1)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkImport compiles a generated file of 10,000 records and writes
// its task set; records/s is the import speed.
func BenchmarkImport(b *testing.B) {
	const n = 10000
	path := filepath.Join(b.TempDir(), "records.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	genRecords(b, f, n)
	f.Close()
	fi, _ := os.Stat(path)
	for _, k := range []int{0, 3} {
		b.Run(fmt.Sprintf("distractors=%d", k), func(b *testing.B) {
			b.SetBytes(fi.Size())
			for b.Loop() {
				in, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				res, err := Compile(context.Background(), in, Options{Distractors: k})
				in.Close()
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Tasks) != n {
					b.Fatalf("%d tasks of %d records; skipped %v", len(res.Tasks), n, res.Skipped[:min(3, len(res.Skipped))])
				}
				if err := res.WriteTaskSet(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkToolCall compares one tool call of an imported task (the
// sample's ethanol lookup) with the status quo, ASTRA's way of running a
// tool: a python3 process executing the record's code and printing the
// call.
//
//   - runtime/step: one Step carrying the call, in a running episode;
//   - runtime/episode: a fresh sandboxed episode per call (Start, Step,
//     Close), the like-for-like isolation of a process per call;
//   - python3: exec python3 -c CODE; print(CALL).
func BenchmarkToolCall(b *testing.B) {
	f, err := os.Open(samplePath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var rec record
	if err := json.NewDecoder(f).Decode(&rec); err != nil {
		b.Fatal(err)
	}
	data := rec.EnvResult["1"].EnvSynthesisResult.Data
	want := strings.TrimSuffix(*data.ToolCallAns, "\n")
	call := callAction([2]string{"chemical_property_lookup", `{"compound":"ethanol","property":"boiling_point"}`})
	res, env := importFiles(b, Options{}, samplePath)
	idx := -1
	for i, tk := range res.Tasks {
		if tk.UUID == rec.UUID {
			idx = i
		}
	}
	ctx := context.Background()
	check := func(r *abi.StepResult) {
		if got := r.Messages[0].Content; got != want {
			b.Fatalf("tool result %q, want %q", got, want)
		}
	}
	b.Run("runtime/step", func(b *testing.B) {
		ep, _, err := env.Start(ctx, 1, idx)
		if err != nil {
			b.Fatal(err)
		}
		defer ep.Close(ctx)
		for b.Loop() {
			r, err := ep.Step(ctx, call)
			if err != nil {
				b.Fatal(err)
			}
			check(r)
		}
	})
	b.Run("runtime/episode", func(b *testing.B) {
		for b.Loop() {
			ep, _, err := env.Start(ctx, 1, idx)
			if err != nil {
				b.Fatal(err)
			}
			r, err := ep.Step(ctx, call)
			if err != nil {
				b.Fatal(err)
			}
			check(r)
			ep.Close(ctx)
		}
	})
	b.Run("python3", func(b *testing.B) {
		py, err := exec.LookPath("python3")
		if err != nil {
			b.Fatalf("python3 is needed for the baseline: %v", err)
		}
		script := data.Code + "\nprint(" + data.ToolCallStatement + ")\n"
		for b.Loop() {
			out, err := exec.Command(py, "-c", script).Output()
			if err != nil {
				b.Fatal(err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != want {
				b.Fatalf("python3 printed %q, want %q", got, want)
			}
		}
	})
}

// BenchmarkStart measures starting an episode (a fresh instance that reads
// the task set's header and one task) with a small and a large task set,
// to show what the size of data/tasks.json costs per episode.
func BenchmarkStart(b *testing.B) {
	path := filepath.Join(b.TempDir(), "records.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	genRecords(b, f, 10000)
	f.Close()
	for _, src := range []string{samplePath, path} {
		res, env := importFiles(b, Options{Distractors: 3}, src)
		b.Run(fmt.Sprintf("tasks=%d", len(res.Tasks)), func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				ep, _, err := env.Start(ctx, uint64(i), i%len(res.Tasks))
				if err != nil {
					b.Fatal(err)
				}
				ep.Close(ctx)
				i++
			}
		})
	}
}
