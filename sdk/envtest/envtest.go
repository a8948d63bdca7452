// Package envtest checks that an environment conforms to Terrarium's ABI
// and contract, like Gymnasium's check_env: authors call it from their own
// tests, and terrarium env test runs it from the command line.
//
//	func TestConformance(t *testing.T) { envtest.Run(t, ".") }
//
// It checks the ABI version and spec, that tool schemas are valid JSON
// Schemas, that reset and step are deterministic, that malformed actions
// (bad JSON, unknown tools, wrong types, oversized arguments) get tool
// errors rather than faults, that the oracle reaches reward 1 and that a
// null policy scores 0.
package envtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/envload"
	_ "github.com/terrarium-rl/terrarium/internal/jsenv" // JavaScript envs (env.js)
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/sdk"
	"github.com/terrarium-rl/terrarium/trainer"
)

// Options tune a check. The zero value checks 20 tasks.
type Options struct {
	// Tasks is how many tasks (spread over the env's range) are checked
	// with each policy; default 20.
	Tasks int
	// Seed is the base seed; default 1.
	Seed uint64
	// Host runs the env; by default a new host with the default config.
	Host *trt.Host
}

// Result is the outcome of one check.
type Result struct {
	Name   string
	Err    error // nil when the check passed
	Detail string
}

// Report is the outcome of all checks.
type Report struct {
	Env     string
	Spec    abi.Spec
	SHA256  string
	Results []Result
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Results {
		if c.Err != nil {
			return false
		}
	}
	return len(r.Results) > 0
}

// Write prints the report, one line per check.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "env %s %s@%s (sha256 %.12s)\n", r.Env, r.Spec.Name, r.Spec.Version, r.SHA256)
	failed := 0
	for _, c := range r.Results {
		if c.Err != nil {
			failed++
			fmt.Fprintf(w, "FAIL %-22s %s\n", c.Name, c.Err)
		} else {
			fmt.Fprintf(w, "ok   %-22s %s\n", c.Name, c.Detail)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(r.Results)-failed, failed)
}

// Check loads the env at path (an env directory or a .wasm file) and runs
// every check. The error is for failures to run at all (a module that does
// not load is reported as a failed check, not an error).
func Check(ctx context.Context, path string, opts Options) (*Report, error) {
	host := opts.Host
	if host == nil {
		h, err := trt.New(ctx, trt.NewConfig())
		if err != nil {
			return nil, fmt.Errorf("envtest: %w", err)
		}
		defer h.Close(ctx)
		host = h
	}
	rep := &Report{Env: path}
	env, err := envload.Load(ctx, host, path)
	if err != nil {
		rep.Results = append(rep.Results, Result{Name: "load", Err: err})
		return rep, nil
	}
	defer env.Close(ctx)
	rep.Spec, rep.SHA256 = env.Spec(), env.SHA256()
	rep.Results = append(rep.Results, Result{Name: "load", Detail: fmt.Sprintf("ABI v%d, %d tasks", abi.Version, env.Spec().Tasks)})
	rep.Results = append(rep.Results, CheckEnv(ctx, env, opts)...)
	return rep, nil
}

// Run is Check for go test: each failed check is a test error.
func Run(t testing.TB, path string) {
	t.Helper()
	rep, err := Check(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	if !rep.OK() {
		t.Errorf("conformance check of %s failed:\n%s", path, buf.String())
	}
}

// CheckEnv runs the checks on a loaded env.
func CheckEnv(ctx context.Context, env *trt.Env, opts Options) []Result {
	if opts.Tasks <= 0 {
		opts.Tasks = 20
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	spec := env.Spec()
	n := min(opts.Tasks, spec.Tasks)
	tasks := make([]int, n)
	for i := range tasks {
		tasks[i] = i * spec.Tasks / n // spread over the range
	}
	run := func(name string, fn func() (string, error)) Result {
		d, err := fn()
		return Result{Name: name, Err: err, Detail: d}
	}
	return []Result{
		run("spec", func() (string, error) { return checkSpec(spec) }),
		run("tools", func() (string, error) { return checkTools(ctx, env, opts.Seed, tasks) }),
		run("reset determinism", func() (string, error) { return checkResetDeterminism(ctx, env, opts.Seed, tasks) }),
		run("step determinism", func() (string, error) { return checkStepDeterminism(ctx, env, opts.Seed, tasks) }),
		run("malformed actions", func() (string, error) { return checkMalformed(ctx, env, opts.Seed, tasks) }),
		run("oracle reward 1", func() (string, error) { return checkPolicy(ctx, env, trainer.OraclePolicy(), opts.Seed, tasks, 1) }),
		run("null reward 0", func() (string, error) { return checkPolicy(ctx, env, trainer.NullPolicy(), opts.Seed, tasks, 0) }),
	}
}

var (
	semver   = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)

func checkSpec(s abi.Spec) (string, error) {
	switch {
	case !nameRE.MatchString(s.Name):
		return "", fmt.Errorf("name %q: want lower case letters, digits, '.', '_' or '-'", s.Name)
	case !semver.MatchString(s.Version):
		return "", fmt.Errorf("version %q is not a semantic version", s.Version)
	case strings.TrimSpace(s.Description) == "":
		return "", fmt.Errorf("description is empty")
	}
	return fmt.Sprintf("%s@%s", s.Name, s.Version), nil
}

func checkTools(ctx context.Context, env *trt.Env, seed uint64, tasks []int) (string, error) {
	count := 0
	for _, task := range tasks {
		ep, obs, err := env.Start(ctx, seed, task)
		if err != nil {
			return "", fmt.Errorf("task %d: %w", task, err)
		}
		ep.Close(ctx)
		if len(obs.Messages) == 0 {
			return "", fmt.Errorf("task %d: reset returned no messages", task)
		}
		seen := map[string]bool{}
		for _, t := range obs.Tools {
			name := t.Function.Name
			switch {
			case t.Type != "function":
				return "", fmt.Errorf("task %d: tool %q has type %q, want \"function\"", task, name, t.Type)
			case !toolName.MatchString(name):
				return "", fmt.Errorf("task %d: tool name %q: want 1-64 letters, digits, '_' or '-'", task, name)
			case seen[name]:
				return "", fmt.Errorf("task %d: tool %q offered twice", task, name)
			}
			seen[name] = true
			if _, err := sdk.CompileSchema(t.Function.Parameters); err != nil {
				return "", fmt.Errorf("task %d: tool %q: %w", task, name, err)
			}
			count++
		}
	}
	return fmt.Sprintf("%d tool schemas valid over %d tasks", count, len(tasks)), nil
}

func checkResetDeterminism(ctx context.Context, env *trt.Env, seed uint64, tasks []int) (string, error) {
	for _, task := range tasks {
		var first []byte
		for i := 0; i < 2; i++ {
			ep, obs, err := env.Start(ctx, seed, task)
			if err != nil {
				return "", fmt.Errorf("task %d: %w", task, err)
			}
			ep.Close(ctx)
			b, _ := json.Marshal(obs)
			if i == 0 {
				first = b
			} else if !bytes.Equal(first, b) {
				return "", fmt.Errorf("task %d seed %d: two resets differ:\n  %.200s\n  %.200s", task, seed, first, b)
			}
		}
	}
	return fmt.Sprintf("%d tasks reset identically twice", len(tasks)), nil
}

func checkStepDeterminism(ctx context.Context, env *trt.Env, seed uint64, tasks []int) (string, error) {
	pols := []trainer.Policy{trainer.RandomPolicy()}
	if env.HasOracle() {
		pols = append(pols, trainer.OraclePolicy())
	}
	steps := 0
	for _, pol := range pols {
		for i, task := range tasks {
			a := trainer.RunEpisode(ctx, env, pol, i, seed+uint64(i), task, 16)
			b := trainer.RunEpisode(ctx, env, pol, i, seed+uint64(i), task, 16)
			if a.Digest != b.Digest {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				return "", fmt.Errorf("%s policy, task %d: two runs differ (digests %s, %s):\n  %.300s\n  %.300s",
					pol.Name(), task, a.Digest, b.Digest, ja, jb)
			}
			steps += a.Turns
		}
	}
	return fmt.Sprintf("%d steps repeated identically", steps), nil
}

// checkMalformed sends actions a policy under training will produce and
// checks that each gets a tool error and the episode goes on.
func checkMalformed(ctx context.Context, env *trt.Env, seed uint64, tasks []int) (string, error) {
	task := tasks[0]
	ep, obs, err := env.Start(ctx, seed, task)
	if err != nil {
		return "", fmt.Errorf("task %d: %w", task, err)
	}
	defer ep.Close(ctx)
	if len(obs.Tools) == 0 {
		return "no tools offered; nothing to check", nil
	}
	tool := obs.Tools[0].Function
	cases := []struct{ name, tool, args string }{
		{"bad JSON", tool.Name, `{"unterminated": `},
		{"not an object", tool.Name, `[1,2,3]`},
		{"unknown tool", "no_such_tool_xyz", `{}`},
		{"wrong types", tool.Name, wrongTypes(tool.Parameters)},
		{"oversized arguments", tool.Name, `{"x":"` + strings.Repeat("a", sdk.MaxArgumentsBytes+1) + `"}`},
	}
	for i, c := range cases {
		id := fmt.Sprintf("check_%d", i)
		res, err := ep.Step(ctx, abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{
			ID: id, Type: "function", Function: abi.FunctionCall{Name: c.tool, Arguments: c.args}}}})
		if err != nil {
			return "", fmt.Errorf("%s: want a tool error, got %w", c.name, err)
		}
		if len(res.Messages) != 1 || res.Messages[0].Role != abi.RoleTool || res.Messages[0].ToolCallID != id {
			return "", fmt.Errorf("%s: want one tool message answering %s, got %+v", c.name, id, res.Messages)
		}
		if !strings.Contains(strings.ToLower(res.Messages[0].Content), "error") {
			return "", fmt.Errorf("%s: tool message does not read as an error: %.200q", c.name, res.Messages[0].Content)
		}
		if res.Done {
			break // an env may end episodes on bad calls; the rest needs a live one
		}
	}
	// A request that is not an assistant message at all is refused, and the
	// episode stays usable.
	if _, err := ep.StepJSON(ctx, []byte("not json")); err != nil {
		var ge *trt.GuestError
		if !errors.As(err, &ge) || ge.Status != abi.StatusBadRequest {
			return "", fmt.Errorf("non-JSON action: want a bad-request refusal, got %w", err)
		}
	} else {
		return "", fmt.Errorf("non-JSON action: accepted")
	}
	if _, err := ep.Score(ctx); err != nil {
		return "", fmt.Errorf("score after malformed actions: %w", err)
	}
	return fmt.Sprintf("%d malformed calls answered with tool errors", len(cases)), nil
}

// wrongTypes builds arguments giving each declared property a value of the
// wrong JSON type.
func wrongTypes(schema []byte) string {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s)
	args := map[string]any{}
	for name, p := range s.Properties {
		if p.Type == "string" {
			args[name] = 12345
		} else {
			args[name] = "wrong type"
		}
	}
	if len(args) == 0 {
		args["unexpected"] = []int{1}
	}
	b, _ := json.Marshal(args)
	return string(b)
}

func checkPolicy(ctx context.Context, env *trt.Env, pol trainer.Policy, seed uint64, tasks []int, want float64) (string, error) {
	if pol.Name() == "oracle" && !env.HasOracle() {
		return "", fmt.Errorf("the env ships no oracle (terrarium_oracle)")
	}
	const eps = 1e-6
	for i, task := range tasks {
		t := trainer.RunEpisode(ctx, env, pol, i, seed+uint64(i), task, 256)
		if t.Termination.Fault != nil {
			return "", fmt.Errorf("task %d seed %d: %s fault in %s: %s", task, t.Seed, t.Termination.Fault.Kind,
				t.Termination.Fault.Op, t.Termination.Fault.Message)
		}
		if d := t.Reward - want; d > eps || d < -eps {
			return "", fmt.Errorf("task %d seed %d: reward %v, want %v (components %v)", task, t.Seed, t.Reward, want, t.Components)
		}
	}
	return fmt.Sprintf("%d tasks scored %v", len(tasks), want), nil
}
