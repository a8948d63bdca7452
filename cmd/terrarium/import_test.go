package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const astraSample = "../../../shared/astra/sample.jsonl"

// rewards reads the rewards of a trajectory file.
func rewards(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec struct {
			Reward float64 `json:"reward"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Reward)
	}
	return out
}

// TestImportAstraRunReplay is the acceptance path: import the
// sample, run it with the oracle (reward 1) and null (reward 0), and replay
// both bit for bit.
// Both output kinds are run.
func TestImportAstraRunReplay(t *testing.T) {
	for _, kind := range []string{"go", "js"} {
		t.Run(kind, func(t *testing.T) { importRunReplay(t, kind) })
	}
}

func importRunReplay(t *testing.T, kind string) {
	dir := t.TempDir()
	pk := filepath.Join(dir, "pack")
	code, out, errOut := run("import", "astra", astraSample, "-o", pk, "--kind", kind)
	if code != exitOK || !strings.Contains(out, "imported 4 tasks from 4 records (0 skipped)") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	config := map[string]string{"go": "data/tasks.json", "js": "data/env.js"}[kind]
	if _, err := os.Stat(filepath.Join(pk, filepath.FromSlash(config))); err != nil {
		t.Fatalf("--kind %s: %v", kind, err)
	}
	for _, policy := range []string{"oracle", "null"} {
		traj := filepath.Join(dir, policy+".jsonl")
		if code, out, errOut := run("run", "--env", pk, "--policy", policy, "-n", "4", "-o", traj); code != exitOK {
			t.Fatalf("run %s: exit %d\n%s%s", policy, code, out, errOut)
		}
		rs := rewards(t, traj)
		if len(rs) != 4 {
			t.Fatalf("%s: %d trajectories, want 4", policy, len(rs))
		}
		for i, r := range rs {
			if policy == "oracle" && r < 1-1e-9 || policy == "null" && r != 0 {
				t.Errorf("%s episode %d: reward %v", policy, i, r)
			}
		}
		// The trajectories name the pack, so replay finds module and
		// configuration by itself.
		if code, out, errOut := run("replay", traj); code != exitOK {
			t.Errorf("replay %s: exit %d\n%s%s", policy, code, out, errOut)
		}
	}
}

func TestImportAstraErrors(t *testing.T) {
	dir := t.TempDir()
	pk := filepath.Join(dir, "pack")
	if code, out, errOut := run("import", "astra", astraSample, "-o", pk); code != exitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	broken := "../../internal/astra/testdata/broken.jsonl"
	mixed := filepath.Join(dir, "mixed.jsonl")
	var all []byte
	for _, f := range []string{broken, astraSample} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	os.WriteFile(mixed, all, 0o644)
	notEmpty := filepath.Join(dir, "notempty")
	os.MkdirAll(notEmpty, 0o755)
	os.WriteFile(filepath.Join(notEmpty, "x"), []byte("x"), 0o644)
	skipped := filepath.Join(dir, "skipped.jsonl")
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"no output dir", []string{"import", "astra", astraSample}, exitUsage, "", "-o DIR is required"},
		{"no records file", []string{"import", "astra", "-o", filepath.Join(dir, "x")}, exitUsage, "", "want one records file"},
		{"bad kind", []string{"import", "astra", astraSample, "-o", filepath.Join(dir, "x"), "--kind", "py"}, exitUsage, "", `--kind "py": want go or js`},
		{"bad reward", []string{"import", "astra", astraSample, "-o", filepath.Join(dir, "x"), "--reward", "max"}, exitUsage, "", `--reward "max"`},
		{"negative distractors", []string{"import", "astra", astraSample, "-o", filepath.Join(dir, "x"), "--distractors", "-1"}, exitUsage, "", "negative"},
		{"missing records", []string{"import", "astra", filepath.Join(dir, "nope.jsonl"), "-o", filepath.Join(dir, "x")}, exitFailure, "", "no such file"},
		{"existing pack", []string{"import", "astra", astraSample, "-o", pk}, exitFailure, "", "already holds a pack"},
		{"existing pack forced", []string{"import", "astra", astraSample, "-o", pk, "--force", "--reward", "f1*final", "--distractors", "2"}, exitOK, "imported 4 tasks", ""},
		{"non-empty dir", []string{"import", "astra", astraSample, "-o", notEmpty, "--force"}, exitFailure, "", "exists and is not empty"},
		{"only broken records", []string{"import", "astra", broken, "-o", filepath.Join(dir, "b")}, exitFailure, "", "skip: line 1: b-no-schema: sub-question 1: no tool_document"},
		{"broken records skipped", []string{"import", "astra", mixed, "-o", filepath.Join(dir, "m"), "--skipped", skipped}, exitOK,
			"imported 4 tasks from 14 records (10 skipped)", "skip: line 9: b-not-json: not a record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout %q (want %q)\nstderr %q (want %q)", code, tc.code, out, tc.stdout, errOut, tc.stderr)
			}
		})
	}
	b, err := os.ReadFile(skipped)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 10 {
		t.Errorf("--skipped file has %d lines, want 10:\n%s", n, b)
	}
}
