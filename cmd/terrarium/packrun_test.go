package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
	"github.com/terrarium-rl/terrarium/internal/oci/ocitest"
)

// Issue 5's acceptance run: a shipped env built into a pack, signed, pushed
// to a real registry, pulled elsewhere, verified and run with --pack gives
// trajectories whose digests equal those of running the source directory;
// a lockfile mismatch and a tampered byte are each refused.
func TestPackRunMatchesSource(t *testing.T) {
	reg := ocitest.Start(t)
	t.Setenv("TERRARIUM_PACK_CACHE", t.TempDir())
	work := t.TempDir()
	wasm, err := gobuild.Build(context.Background(), "../../envs/bank")
	if err != nil {
		t.Fatal(err)
	}
	module, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(work, "bank-pack")
	os.MkdirAll(filepath.Join(src, "modules"), 0o755)
	os.WriteFile(filepath.Join(src, "modules", "bank.wasm"), module, 0o644)
	os.WriteFile(filepath.Join(src, "pack.json"), []byte(`{"format":"terrarium.pack/v1","name":"bank","version":"1.0.0",
	  "description":"The shipped bank environment.","license":"Apache-2.0",
	  "environments":[{"name":"bank","module":"modules/bank.wasm","abi":1}],
	  "limits":{"memory_pages":2048}}`), 0o644)
	file := filepath.Join(work, "bank.tpack")
	key := filepath.Join(work, "release")
	ref := "oci://" + reg.Host + "/envs/bank:1.0.0"
	pulled := filepath.Join(work, "pulled")
	lock := filepath.Join(work, "terrarium.lock")

	mustRun(t, "pack", "build", src, "-o", file, "--write-digests")
	mustRun(t, "pack", "keygen", "-o", key)
	mustRun(t, "pack", "sign", file, "--key", key+".key")
	mustRun(t, "pack", "push", file, ref)
	t.Setenv("TERRARIUM_PACK_CACHE", t.TempDir()) // elsewhere
	mustRun(t, "pack", "pull", ref, "-o", pulled)
	mustRun(t, "pack", "verify", pulled, "--key", key+".pub")

	direct := filepath.Join(work, "direct.jsonl")
	viaPack := filepath.Join(work, "pack.jsonl")
	mustRun(t, "run", "--env", "../../envs/bank", "--episodes", "20", "--seed", "9", "-o", direct)
	mustRun(t, "run", "--pack", ref, "--trust", key+".pub", "--lock", lock, "--episodes", "20", "--seed", "9", "-o", viaPack)
	a, b := readRecords(t, direct), readRecords(t, viaPack)
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("records: %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Digest != b[i].Digest || a[i].Reward != 1 {
			t.Fatalf("episode %d: source digest %s reward %v, pack digest %s", i, a[i].Digest, a[i].Reward, b[i].Digest)
		}
	}
	if b[0].Env.Source != ref {
		t.Errorf("pack run records source %q, want %q", b[0].Env.Source, ref)
	}
	// The lockfile now pins the pack; a replay of the pack run passes.
	if code, _, errOut := terrarium(t, "replay", viaPack); code != exitOK {
		t.Fatalf("replay of the pack run: exit %d: %s", code, errOut)
	}

	// A lockfile pinning another digest is refused before any episode.
	var l map[string]any
	raw, err := os.ReadFile(lock)
	if err != nil {
		t.Fatalf("run --pack wrote no lockfile: %v", err)
	}
	json.Unmarshal(raw, &l)
	l["packs"].([]any)[0].(map[string]any)["digest"] = "sha256:" + strings.Repeat("0", 64)
	raw, _ = json.Marshal(l)
	os.WriteFile(lock, raw, 0o644)
	if code, _, errOut := terrarium(t, "run", "--pack", ref, "--lock", lock, "--episodes", "1"); code != exitFailure || !strings.Contains(errOut, "lockfile") {
		t.Errorf("run with a mismatching lock: exit %d, %s", code, errOut)
	}

	// One tampered byte in the module is refused, naming the file.
	mod := filepath.Join(pulled, "modules", "bank.wasm")
	b2, _ := os.ReadFile(mod)
	b2[len(b2)/2] ^= 0xff
	os.WriteFile(mod, b2, 0o644)
	if code, _, errOut := terrarium(t, "run", "--pack", pulled, "--lock", "", "--episodes", "1"); code != exitFailure || !strings.Contains(errOut, "modules/bank.wasm: digest mismatch") {
		t.Errorf("run of a tampered pack: exit %d, %s", code, errOut)
	}
	// An unsigned pack is refused under --trust.
	if code, _, errOut := terrarium(t, "run", "--pack", src, "--lock", "", "--trust", key+".pub", "--episodes", "1"); code != exitFailure || !strings.Contains(errOut, "not signed") {
		t.Errorf("run of an unsigned pack with --trust: exit %d, %s", code, errOut)
	}
}
