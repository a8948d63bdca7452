package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/trainer"
)

// run calls Main in-process and returns its exit code and outputs.
func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func allCommands(prefix []string, cmds []*Command, fn func(path []string, c *Command)) {
	for _, c := range cmds {
		p := append(append([]string(nil), prefix...), c.Name)
		fn(p, c)
		allCommands(p, c.Sub, fn)
	}
}

// Help text is documentation: every command has it, and help shows it.
func TestHelpForEveryCommand(t *testing.T) {
	allCommands(nil, commands, func(path []string, c *Command) {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			if c.Short == "" {
				t.Errorf("no short description")
			}
			if c.Run != nil && (c.Usage == "" || c.Long == "") {
				t.Errorf("runnable command without usage or long help")
			}
			code, out, errOut := run(append([]string{"help"}, path...)...)
			if code != exitOK || out == "" {
				t.Errorf("help %s: exit %d, stdout %q, stderr %q", strings.Join(path, " "), code, out, errOut)
			}
			if c.Run != nil {
				if code, out, _ := run(append(path, "--help")...); code != exitOK || !strings.Contains(out, "usage: terrarium "+c.Usage) {
					t.Errorf("%s --help: exit %d, output %q", strings.Join(path, " "), code, out)
				}
			}
		})
	})
}

func TestExitCodesAndErrors(t *testing.T) {
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "broken.wasm")
	os.WriteFile(notWasm, []byte("this is not wasm"), 0o644)
	truncated := filepath.Join(dir, "truncated.wasm")
	os.WriteFile(truncated, []byte("\x00asm\x01\x00\x00\x00\x01\x05"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, exitUsage, "Usage: terrarium <command>"},
		{"unknown command", []string{"fly"}, exitUsage, `unknown command "fly"`},
		{"unknown flag", []string{"run", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"missing env", []string{"run"}, exitUsage, "give one of --env or --pack"},
		{"bad policy", []string{"run", "--env", notWasm, "--policy", "telepathy"}, exitUsage, `unknown policy "telepathy"`},
		{"not wasm", []string{"run", "--env", notWasm}, exitFailure, "load " + notWasm + ": invalid environment module: not a WebAssembly module"},
		{"truncated wasm", []string{"run", "--env", truncated}, exitFailure, "load " + truncated + ": invalid environment module"},
		{"missing file", []string{"env", "test", filepath.Join(dir, "nope")}, exitFailure, "FAIL load"},
		{"replay missing file", []string{"replay", filepath.Join(dir, "nope.jsonl")}, exitFailure, "no such file"},
		{"env group alone", []string{"env"}, exitUsage, "Usage: terrarium env <command>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(tc.args...)
			if code != tc.code || !strings.Contains(errOut+out, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.code, tc.stderr)
			}
			// Errors are printed once, on one line, prefixed with the program name.
			if tc.code == exitFailure && strings.Count(errOut, "terrarium") > 1 {
				t.Errorf("error printed more than once: %q", errOut)
			}
		})
	}
}

var binary struct {
	once sync.Once
	path string
	err  error
}

// buildBinary builds the terrarium command once per test binary, so tests
// can run it as separate processes.
func buildBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "terrarium-bin")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "terrarium")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = &buildError{string(out)}
		}
	})
	if binary.err != nil {
		t.Fatalf("build terrarium: %v", binary.err)
	}
	return binary.path
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }

func readRecords(t *testing.T, path string) []*trainer.Trajectory {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := trainer.ReadAll(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// The acceptance run: 1,000 oracle episodes of a shipped env, in two
// separate processes at once, score 1 and give identical digests; replay
// passes; one edited tool message makes replay fail with a precise report.
func TestOracleRunsReproduceAcrossProcesses(t *testing.T) {
	episodes := "1000"
	if testing.Short() {
		episodes = "100"
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	logs := make([][]byte, 2)
	for i, out := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(context.Background(), bin, "run", "--env", "../../envs/bank",
				"--policy", "oracle", "--episodes", episodes, "--seed", "42", "-o", out)
			logs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], logs[i])
		}
	}
	a, b := readRecords(t, outs[0]), readRecords(t, outs[1])
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("record counts %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Reward != 1 {
			t.Fatalf("episode %d: oracle reward %v (%+v)", i, a[i].Reward, a[i].Termination)
		}
		if a[i].Digest != b[i].Digest {
			t.Fatalf("episode %d: digests differ across processes: %s vs %s", i, a[i].Digest, b[i].Digest)
		}
	}
	if code, _, errOut := run("replay", outs[0]); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}

	// Edit one tool message of episode 7 and replay again.
	edited := filepath.Join(dir, "edited.jsonl")
	editOneToolMessage(t, outs[0], edited, 7)
	code, _, errOut := run("replay", edited)
	if code != exitFailure || !strings.Contains(errOut, "episode 7 turn 1: observation differs at byte") || !strings.Contains(errOut, "EDITED") {
		t.Fatalf("replay of an edited file: exit %d, report %q", code, errOut)
	}
}

func editOneToolMessage(t *testing.T, in, out string, episode int) {
	t.Helper()
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var dst bytes.Buffer
	s := bufio.NewScanner(src)
	s.Buffer(nil, 64<<20)
	for n := 0; s.Scan(); n++ {
		line := s.Bytes()
		if n == episode {
			// Edit the text itself: decoding and re-encoding would also
			// reorder the keys of tool schemas, a different divergence.
			marker := []byte(`"role":"tool","content":"`)
			if !bytes.Contains(line, marker) {
				t.Fatalf("episode %d has no tool message", episode)
			}
			line = bytes.Replace(line, marker, append(marker, "EDITED"...), 1)
		}
		dst.Write(line)
		dst.WriteByte('\n')
	}
	if err := os.WriteFile(out, dst.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnvTestShippedEnvs(t *testing.T) {
	for _, env := range []string{"bank", "hoplookup"} {
		t.Run(env, func(t *testing.T) {
			code, out, errOut := run("env", "test", "--tasks", "10", "../../envs/"+env)
			if code != exitOK || !strings.Contains(out, "8 passed, 0 failed") {
				t.Errorf("env test %s: exit %d\n%s%s", env, code, out, errOut)
			}
		})
	}
}
