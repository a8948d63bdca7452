package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/oci/ocitest"
)

// terrarium runs the command line in-process and returns its exit code and
// output.
func terrarium(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := terrarium(t, args...)
	if code != exitOK {
		t.Fatalf("terrarium %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// The pack workflow from the command line: keygen, build, sign, verify,
// push, pull elsewhere, verify; then the refusals.
func TestPackCommands(t *testing.T) {
	reg := ocitest.Start(t)
	t.Setenv("TERRARIUM_PACK_CACHE", t.TempDir())
	work := t.TempDir()
	src := filepath.Join(work, "src")
	for name, body := range map[string]string{
		"modules/m.wasm":  "\x00asm\x01\x00\x00\x00",
		"data/tasks.json": `{"tasks":[1]}`,
		"pack.json": `{"format":"terrarium.pack/v1","name":"demo","version":"0.1.0",
		  "environments":[{"name":"demo","module":"modules/m.wasm","abi":1,"config":"data/tasks.json"}]}`,
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(work, "me")
	other := filepath.Join(work, "other")
	file := filepath.Join(work, "demo.tpack")
	ref := "oci://" + reg.Host + "/demo/pack:0.1.0"
	pulled := filepath.Join(work, "pulled")

	// A pack.json without digests is refused until they are written.
	if code, _, errOut := terrarium(t, "pack", "build", src, "-o", file); code != exitFailure || !strings.Contains(errOut, "digest") {
		t.Fatalf("build without digests: exit %d, %s", code, errOut)
	}
	out := mustRun(t, "pack", "build", src, "-o", file, "--write-digests")
	digest, _, _ := strings.Cut(out, " ")
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("build printed %q, want the digest first", out)
	}
	mustRun(t, "pack", "keygen", "-o", key)
	mustRun(t, "pack", "keygen", "-o", other)
	if code, _, _ := terrarium(t, "pack", "keygen", "-o", key); code != exitFailure {
		t.Fatalf("keygen over an existing key: exit %d, want %d", code, exitFailure)
	}
	if fi, err := os.Stat(key + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	mustRun(t, "pack", "sign", file, "--key", key+".key")
	if out := mustRun(t, "pack", "verify", file, "--key", key+".pub"); !strings.Contains(out, "signature by key") {
		t.Fatalf("verify printed %q", out)
	}
	if out := mustRun(t, "pack", "inspect", file); !strings.Contains(out, digest) || !strings.Contains(out, "demo@0.1.0") {
		t.Fatalf("inspect printed %q", out)
	}
	mustRun(t, "pack", "push", file, ref)

	// Elsewhere: another cache.
	t.Setenv("TERRARIUM_PACK_CACHE", t.TempDir())
	if out := mustRun(t, "pack", "pull", ref, "-o", pulled); !strings.HasPrefix(out, digest) {
		t.Fatalf("pull printed %q, want digest %s", out, digest)
	}
	mustRun(t, "pack", "verify", pulled, "--key", key+".pub")
	mustRun(t, "pack", "verify", ref, "--key", key+".pub")

	refusals := []struct {
		name   string
		args   []string
		code   int
		errHas string
	}{
		{"wrong key", []string{"pack", "verify", pulled, "--key", other + ".pub"}, exitFailure, "not by the trusted key"},
		{"unsigned source", []string{"pack", "verify", src, "--key", key + ".pub"}, exitFailure, "not signed"},
		{"pull over a directory", []string{"pack", "pull", ref, "-o", pulled}, exitFailure, "exists"},
		{"build without -o", []string{"pack", "build", src}, exitUsage, "-o FILE"},
		{"push to a path", []string{"pack", "push", file, "/tmp/x"}, exitUsage, "oci://"},
		{"sign without key", []string{"pack", "sign", file}, exitUsage, "--key"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			code, _, errOut := terrarium(t, r.args...)
			if code != r.code || !strings.Contains(errOut, r.errHas) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, r.code, r.errHas)
			}
		})
	}

	// A tampered byte in the pulled pack is refused, naming the file.
	os.WriteFile(filepath.Join(pulled, "data/tasks.json"), []byte(`{"tasks":[2]}`), 0o644)
	if code, _, errOut := terrarium(t, "pack", "verify", pulled); code != exitFailure || !strings.Contains(errOut, "data/tasks.json: digest mismatch") {
		t.Fatalf("verify of a tampered pack: exit %d, %s", code, errOut)
	}
}
