package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/astra"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
	"github.com/terrarium-rl/terrarium/pack"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// modulePath is the Terrarium module, as go.mod names it.
const modulePath = "github.com/terrarium-rl/terrarium"

// Paths in the checkout.
const (
	goEnvDir     = "runtime/testdata/echo"
	jsInventory  = "envs/js-inventory/env.js"
	jsEcho       = "internal/jsenv/testdata/echo.js"
	guessWAT     = "runtime/testdata/wat/guess.wat"
	astraDefault = "../shared/astra/sample.jsonl"
)

// runner holds a run's hosts, envs and results.
type runner struct {
	opts    Options
	root    string
	tmp     string
	closers []func(context.Context)

	// Hosts: reuse is the default configuration (instances recycled from
	// a snapshot, fuel on), fresh instantiates every episode (the
	// baseline of reset), nofuel turns fuel off, which makes wazero check
	// the context in guest code so that the step timeout can stop it.
	reuse, fresh, nofuel *trt.Host

	src struct{ goEcho, jsInv, jsEcho, wat, astra, astraJS trt.Source }
	// Envs by host, keyed "go", "js", "js-echo", "wat", "astra",
	// "astra-js".
	envs, freshEnvs, nofuelEnvs map[string]*trt.Env

	astra astraCase
	py    string // python3's path

	results []Result
	cores   float64 // CPU cores available before the episodes/s figures
	done    int
	total   int
}

// astraCase is the benchmarked ASTRA tool call: the first verified call of
// the first imported task, as the sandbox receives it and as the record's
// Python code runs it.
type astraCase struct {
	task   int
	uuid   string
	action abi.Message
	// rewritten is action with its arguments' keys in reverse order and
	// spaced out: the same call, not the same bytes.
	rewritten abi.Message
	want      string // the recorded output: the tool message's content
	script    string // the record's code followed by print(<call statement>)
}

func (r *runner) progress() {
	r.done++
	if r.opts.Progress != nil {
		r.opts.Progress(min(r.done, r.total), r.total)
	}
}

func (r *runner) close(ctx context.Context) {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i](ctx)
	}
	r.closers = nil
}

func (r *runner) onClose(f func(context.Context)) { r.closers = append(r.closers, f) }

// FindRoot returns the Terrarium checkout holding dir: the nearest
// directory at or above dir whose go.mod declares the Terrarium module.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(b, modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoCheckout
		}
		dir = parent
	}
}

func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == path
		}
	}
	return false
}

// setup finds the tools and files, builds and loads every env.
func (r *runner) setup(ctx context.Context) (err error) {
	o := &r.opts
	if r.root = o.Root; r.root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if r.root, err = FindRoot(wd); err != nil {
			return fmt.Errorf("bench: %w: it builds its Go env with the go command and reads envs from the repository", err)
		}
	}
	if r.py, err = exec.LookPath("python3"); err != nil {
		return fmt.Errorf("bench: python3 runs the status-quo baseline: %w", err)
	}
	if r.tmp, err = os.MkdirTemp("", "terrarium-bench-"); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r.onClose(func(context.Context) { os.RemoveAll(r.tmp) })
	if err := r.sources(ctx); err != nil {
		return err
	}

	for _, h := range []struct {
		h   **trt.Host
		cfg trt.Config
	}{
		{&r.reuse, trt.NewConfig()},
		{&r.fresh, trt.NewConfig().WithInstanceReuse(false)},
		{&r.nofuel, trt.NewConfig().WithFuelPerStep(0)},
	} {
		host, err := trt.New(ctx, h.cfg)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		*h.h = host
		r.onClose(func(ctx context.Context) { host.Close(ctx) })
	}
	load := func(h *trt.Host, into *map[string]*trt.Env, keys ...string) error {
		if *into == nil {
			*into = map[string]*trt.Env{}
		}
		for _, k := range keys {
			src := map[string]trt.Source{"go": r.src.goEcho, "js": r.src.jsInv, "js-echo": r.src.jsEcho,
				"wat": r.src.wat, "astra": r.src.astra, "astra-js": r.src.astraJS}[k]
			env, err := h.Load(ctx, src)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			r.onClose(func(ctx context.Context) { env.Close(ctx) })
			(*into)[k] = env
			r.progress()
		}
		return nil
	}
	if err := load(r.reuse, &r.envs, "go", "js", "js-echo", "wat", "astra", "astra-js"); err != nil {
		return err
	}
	if err := load(r.fresh, &r.freshEnvs, "go", "js"); err != nil {
		return err
	}
	for k, env := range r.envs {
		if n, err := env.Fuel(); n == 0 || err != nil {
			return fmt.Errorf("bench: the %s env runs unmetered in the default configuration (%v), which this bench assumes metered", k, err)
		}
	}
	if o.Fuel {
		if err := load(r.nofuel, &r.nofuelEnvs, "go", "js", "wat", "astra"); err != nil {
			return err
		}
	}
	return nil
}

// sources builds or reads every module and script.
func (r *runner) sources(ctx context.Context) error {
	path := func(rel string) string { return filepath.Join(r.root, filepath.FromSlash(rel)) }
	wasm, err := gobuild.Build(ctx, path(goEnvDir))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r.src.goEcho = trt.Source{Name: goEnvDir, Wasm: b}
	r.progress()

	for _, js := range []struct {
		src *trt.Source
		rel string
	}{{&r.src.jsInv, jsInventory}, {&r.src.jsEcho, jsEcho}} {
		b, err := os.ReadFile(path(js.rel))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		*js.src = jsenv.Source(js.rel, b)
	}

	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		return fmt.Errorf("bench: wat2wasm builds the round-trip probe (%s); install the Debian package wabt: %w", guessWAT, err)
	}
	out := filepath.Join(r.tmp, "guess.wasm")
	if msg, err := exec.CommandContext(ctx, tool, path(guessWAT), "-o", out).CombinedOutput(); err != nil {
		return fmt.Errorf("bench: wat2wasm %s: %w\n%s", guessWAT, err, msg)
	}
	if b, err = os.ReadFile(out); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r.src.wat = trt.Source{Name: guessWAT, Wasm: b}

	records := r.opts.Astra
	if records == "" {
		records = path(astraDefault)
	}
	return r.importAstra(ctx, records)
}

// importAstra imports the records file into a pack, as `terrarium import
// astra` does, and picks the benchmarked call.
func (r *runner) importAstra(ctx context.Context, records string) error {
	data, err := os.ReadFile(records)
	if err != nil {
		return fmt.Errorf("bench: ASTRA records: %w", err)
	}
	res, err := astra.Compile(ctx, bytes.NewReader(data), astra.Options{})
	if err != nil {
		return fmt.Errorf("bench: import %s: %w", records, err)
	}
	for _, k := range []struct {
		kind astra.Kind
		src  *trt.Source
	}{{astra.KindGo, &r.src.astra}, {astra.KindJS, &r.src.astraJS}} {
		dir := filepath.Join(r.tmp, "astra-"+string(k.kind))
		if _, err := astra.WritePackKind(dir, res, k.kind); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		p, err := pack.Load(dir)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if *k.src, err = p.Source(""); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	t := res.Tasks[0]
	if len(t.Calls) == 0 {
		return fmt.Errorf("bench: %s: task %s has no tool call", records, t.UUID)
	}
	call := t.Calls[0]
	code, stmt, err := recordCall(data, t.UUID, call.Tool, call.Answer)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", records, err)
	}
	rewritten, err := reverseKeys(call.Arguments)
	if err != nil {
		return fmt.Errorf("bench: %s: task %s: %w", records, t.UUID, err)
	}
	act := func(args string) abi.Message {
		return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "call_0", Type: "function",
			Function: abi.FunctionCall{Name: call.Tool, Arguments: args}}}}
	}
	r.astra = astraCase{
		task: 0, uuid: t.UUID, want: call.Answer,
		script:    code + "\nprint(" + stmt + ")\n",
		action:    act(string(call.Arguments)),
		rewritten: act(rewritten),
	}
	return nil
}

// reverseKeys writes a JSON object's members in reverse order, spaced out
// ({"b": 2, "a": 1} for {"a":1,"b":2}).
func reverseKeys(obj json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", fmt.Errorf("arguments %s are not an object", obj)
	}
	var members []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", err
		}
		kb, _ := json.Marshal(k)
		members = append([]string{string(kb) + ": " + string(v)}, members...)
	}
	return "{" + strings.Join(members, ", ") + "}", nil
}

// astraRecord is the part of an ASTRA record (docs/astra.md) the python3
// baseline needs.
type astraRecord struct {
	UUID      string `json:"uuid"`
	EnvResult map[string]*struct {
		Synthesis struct {
			Data struct {
				Doc struct {
					Name string `json:"name"`
				} `json:"tool_document"`
				Statement string `json:"tool_call_statement"`
				Code      string `json:"code"`
				Answer    string `json:"tool_call_ans"`
			} `json:"data"`
		} `json:"env_synthesis_result"`
	} `json:"env_result"`
}

// recordCall finds, in the records, the record uuid's tool code and call
// statement that print answer with tool.
func recordCall(records []byte, uuid, tool, answer string) (code, stmt string, err error) {
	for line := range bytes.Lines(records) {
		var rec astraRecord
		if json.Unmarshal(line, &rec) != nil || rec.UUID != uuid {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(rec.EnvResult)) {
			e := rec.EnvResult[k]
			if e == nil {
				continue
			}
			d := e.Synthesis.Data
			if d.Doc.Name == tool && strings.TrimSuffix(d.Answer, "\n") == answer && d.Code != "" {
				return d.Code, d.Statement, nil
			}
		}
		return "", "", fmt.Errorf("record %s has no code for its %s call", uuid, tool)
	}
	return "", "", errors.New("record " + uuid + " not found")
}
