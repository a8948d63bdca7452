package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The README's quick start promises that its first command, on a fresh
// clone with no keys, runs a shipped pack with a built-in policy and scores
// 1. This runs that command as the README spells it (in-process, with fewer
// episodes, in a scratch directory holding a copy of the pack) and then
// replays what it wrote, so the README and the command line cannot drift.
func TestReadmeQuickStart(t *testing.T) {
	args := quickStartCommand(t, "../../README.md")
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("the quick start's first command is %q, want a run", args)
	}
	const episodes = 10
	var ref, out string
	for i := 1; i+1 < len(args); i++ {
		switch args[i] {
		case "--pack":
			ref = args[i+1]
		case "-o", "--output":
			out = args[i+1]
		case "--episodes", "-n":
			args[i+1] = strconv.Itoa(episodes)
		}
	}
	if !strings.HasPrefix(ref, "packs/") {
		t.Fatalf("the quick start runs --pack %q, want a pack shipped in packs/", ref)
	}
	if out == "" || out == "-" {
		t.Fatalf("the quick start writes no trajectory file (-o), which its replay example needs")
	}
	// Run where the lockfile and trajectories it writes land in a scratch
	// directory, with the pack at the path the README names.
	work := t.TempDir()
	t.Setenv("TERRARIUM_PACK_CACHE", t.TempDir())
	b, err := os.ReadFile(filepath.Join("../..", filepath.FromSlash(ref)))
	if err != nil {
		t.Fatalf("the quick start's pack: %v", err)
	}
	dst := filepath.Join(work, filepath.FromSlash(ref))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)

	code, stdout, stderr := terrarium(t, args...)
	if code != exitOK {
		t.Fatalf("terrarium %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	if want := fmt.Sprintf("policy: %d episodes, mean reward 1.0000, 0 faults", episodes); !strings.Contains(stderr, want) {
		t.Fatalf("terrarium %s: summary does not say %q:\n%s", strings.Join(args, " "), want, stderr)
	}
	if got := countLines(t, out); got != episodes {
		t.Fatalf("%s holds %d trajectories, want %d", out, got, episodes)
	}
	mustRun(t, "replay", out)
}

// quickStartCommand returns the arguments of the first command in the
// first code block under the README's "## Quick start" heading, without
// its leading "go run ./cmd/terrarium".
func quickStartCommand(t *testing.T, readme string) []string {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const prefix = "go run ./cmd/terrarium "
	section, block := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !section:
			section = line == "## Quick start"
		case strings.HasPrefix(line, "## "):
			t.Fatalf("%s: no code block under ## Quick start", readme)
		case !block:
			block = strings.HasPrefix(line, "```")
		default:
			cmd, ok := strings.CutPrefix(line, prefix)
			if !ok || strings.ContainsAny(cmd, `"'\$`) {
				t.Fatalf("%s: the quick start's first command is %q; this test runs only %q with plain arguments", readme, line, prefix+"…")
			}
			return strings.Fields(cmd)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s: no ## Quick start section with a code block", readme)
	return nil
}

func countLines(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
