package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/oci/ocitest"
	"github.com/terrarium-rl/terrarium/internal/testenv/echotest"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

func echoWasm(tb testing.TB) []byte { return echotest.Wasm(tb) }

// echoPack writes a pack holding the echo env.
func echoPack(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "modules"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "modules/echo.wasm"), echoWasm(t), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Finalize(dir, &Manifest{Name: "echo", Version: "0.1.0", License: "Apache-2.0",
		Environments: []Environment{{Name: "echo", Module: "modules/echo.wasm", ABI: abi.Version}}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, d
}

// episode runs a short fixed episode and returns everything it produced,
// as JSON.
func episode(t *testing.T, src trt.Source) []byte {
	t.Helper()
	ctx := context.Background()
	h, err := trt.New(ctx, trt.NewConfig().WithCompilationCacheDir(""))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	env, err := h.Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	ep, obs, err := env.Start(ctx, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	out := []any{env.SHA256(), obs}
	for _, tool := range []string{"say", "entropy"} {
		res, err := ep.Step(ctx, abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{
			ID: "c-" + tool, Type: "function", Function: abi.FunctionCall{Name: tool, Arguments: `{"text":"hi"}`}}}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	score, err := ep.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(append(out, score))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// build → sign → push → pull elsewhere → verify → run gives the same
// episode as the source directory.
func TestRegistryRoundTrip(t *testing.T) {
	reg := ocitest.Start(t)
	ctx := t.Context()
	dir, digest := echoPack(t)
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "echo.tpack")
	if _, err := Build(dir, file); err != nil {
		t.Fatal(err)
	}
	here := OpenOptions{Cache: &Cache{Dir: t.TempDir()}}
	p, err := SignRef(ctx, file, priv, here)
	if err != nil {
		t.Fatal(err)
	}
	ref := "oci://" + reg.Host + "/terrarium/echo:0.1.0"
	m1, err := Push(ctx, p, ref, here)
	if err != nil {
		t.Fatal(err)
	}
	// Pushing the same pack again gives the same OCI manifest.
	if m2, err := Push(ctx, p, ref, here); err != nil || m2 != m1 {
		t.Fatalf("second push: %s, %v; first gave %s", m2, err, m1)
	}

	keyFile := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(keyFile, pub, 0o644)
	elsewhere := ResolveOptions{OpenOptions: OpenOptions{Cache: &Cache{Dir: t.TempDir()}}, TrustKey: keyFile,
		Lockfile: filepath.Join(t.TempDir(), LockFile)}
	src, m, d, err := Resolve(ctx, ref, elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	if d != digest || m.Name != "echo" {
		t.Fatalf("pulled %s %s, want echo %s", m.Name, d, digest)
	}
	if !bytes.Equal(src.Wasm, echoWasm(t)) {
		t.Fatal("pulled module differs from the built one")
	}
	fromDir := episode(t, trt.Source{Name: "echo.wasm", Wasm: echoWasm(t)})
	if fromPack := episode(t, src); !bytes.Equal(fromDir, fromPack) {
		t.Fatalf("episode from the pulled pack differs:\n%s\n%s", fromDir, fromPack)
	}
	// By digest too.
	byDigest := "oci://" + reg.Host + "/terrarium/echo@" + m1
	if _, _, d, err := Resolve(ctx, byDigest, elsewhere); err != nil || d != digest {
		t.Fatalf("resolve by digest: %s, %v", d, err)
	}
}

// A pack already in the cache is not downloaded again: with its archive
// blob deleted from the registry's storage, it still opens.
func TestRegistryCacheHit(t *testing.T) {
	ctx := t.Context()
	reg, p, ref, digest := pushedPack(t)
	opts := OpenOptions{Cache: &Cache{Dir: t.TempDir()}}
	if _, err := Open(ctx, ref, opts); err != nil {
		t.Fatal(err)
	}
	removeArchiveBlob(t, reg, p)
	got, err := Open(ctx, ref, opts)
	if err != nil {
		t.Fatalf("open from the cache: %v", err)
	}
	if got.Digest != digest {
		t.Fatalf("digest %s, want %s", got.Digest, digest)
	}
	if _, err := Open(ctx, ref, OpenOptions{Cache: &Cache{Dir: t.TempDir()}}); err == nil {
		t.Fatal("a fresh cache opened a pack whose archive is gone from the registry")
	}
}

// A registry serving a tampered archive is caught, and the cache stays
// empty.
func TestRegistryTamperedBlob(t *testing.T) {
	ctx := t.Context()
	reg, p, ref, _ := pushedPack(t)
	blob := archiveBlob(t, reg, p)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := &Cache{Dir: t.TempDir()}
	if _, err := Open(ctx, ref, OpenOptions{Cache: cache}); err == nil {
		t.Fatal("opened a pack whose archive was tampered with")
	} else if !errors.Is(err, ErrInvalidArchive) && !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("tampered archive: %v, want ErrInvalidArchive or ErrDigestMismatch", err)
	}
	if ents := listAll(t, cache.Dir); len(ents) != 0 {
		t.Fatalf("cache holds %v after a failed pull", ents)
	}
}

// pushedPack starts a registry and pushes a new test pack to it, returning
// the pack, its oci:// reference and its digest.
func pushedPack(t *testing.T) (reg *ocitest.Registry, p *Pack, ref, digest string) {
	t.Helper()
	reg = ocitest.Start(t)
	dir, digest := makePack(t)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref = "oci://" + reg.Host + "/t/shop:1"
	if _, err := Push(t.Context(), p, ref, OpenOptions{}); err != nil {
		t.Fatal(err)
	}
	return reg, p, ref, digest
}

// archiveBlob returns where the registry stores p's archive layer.
func archiveBlob(t *testing.T, reg *ocitest.Registry, p *Pack) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteArchive(&buf, p, true); err != nil {
		t.Fatal(err)
	}
	h := hexSHA256(buf.Bytes())
	return filepath.Join(reg.Dir, "docker/registry/v2/blobs/sha256", h[:2], h, "data")
}

func removeArchiveBlob(t *testing.T, reg *ocitest.Registry, p *Pack) {
	t.Helper()
	blob := archiveBlob(t, reg, p)
	if err := os.Remove(blob); err != nil {
		t.Fatalf("remove the archive blob: %v", err)
	}
}

func TestNotAPack(t *testing.T) {
	_, err := Open(t.Context(), "oci://127.0.0.1:1/x/y:z", OpenOptions{Cache: &Cache{Dir: t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("open from a closed port: %v, want an error naming the registry", err)
	}
}

// Signing an oci:// tag pushes the signature layer; the pack digest stays.
func TestRegistrySignTag(t *testing.T) {
	ctx := t.Context()
	reg, _, ref, digest := pushedPack(t)
	opts := OpenOptions{Cache: &Cache{Dir: t.TempDir()}}
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(ctx, ref, opts); err != nil || got.Signature != nil {
		t.Fatalf("before signing: %v, signature %q", err, got.Signature)
	}
	if _, err := SignRef(ctx, ref, priv, opts); err != nil {
		t.Fatal(err)
	}
	got, err := Open(ctx, ref, OpenOptions{Cache: &Cache{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digest {
		t.Fatalf("digest after signing %s, want %s", got.Digest, digest)
	}
	if err := VerifySignature(pub, got.Signature, got.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := SignRef(ctx, "oci://"+reg.Host+"/t/shop@sha256:"+strings.Repeat("0", 64), priv, opts); err == nil {
		t.Fatal("signing a digest reference succeeded")
	}
}
