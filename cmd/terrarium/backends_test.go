package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunWithBackend runs envs/warehouse with the SQLite example plugin
// granted by --backend, then replays the file without it.
func TestRunWithBackend(t *testing.T) {
	dir := t.TempDir()
	plugin := filepath.Join(dir, "backend-sqlite")
	if out, err := exec.Command("go", "build", "-o", plugin, "../../plugins/examples/backend-sqlite").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "w.jsonl")
	code, _, errOut := run("run", "--env", "../../envs/warehouse", "--backend", "sqlite="+plugin, "-n", "3", "-o", file)
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	for _, r := range readRecords(t, file) {
		if r.Reward != 1 || len(r.BackendCalls) == 0 {
			t.Fatalf("episode %d: reward %v with %d backend calls", r.Episode, r.Reward, len(r.BackendCalls))
		}
	}
	if code, out, errOut := run("replay", file); code != exitOK {
		t.Fatalf("replay without the backend: exit %d\n%s%s", code, out, errOut)
	}

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"undeclared", []string{"--backend", "kv=" + plugin}, exitFailure, `warehouse declares ["sqlite"]`},
		{"malformed", []string{"--backend", "sqlite"}, exitUsage, "want NAME=PATH"},
		{"twice", []string{"--backend", "sqlite=" + plugin, "--backend", "sqlite=" + plugin}, exitUsage, "given twice"},
		{"missing plugin", []string{"--backend", "sqlite=" + filepath.Join(dir, "nope")}, exitFailure, "--backend sqlite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--env", "../../envs/warehouse", "-n", "1"}, tc.args...)
			code, _, errOut := run(args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d, want %d, stderr:\n%s\nwant it to mention %q", code, tc.code, errOut, tc.msg)
			}
		})
	}
}
