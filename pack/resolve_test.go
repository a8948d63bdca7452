package pack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/envload"
)

func TestResolve(t *testing.T) {
	dir, digest := makePack(t)
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	pubPath, otherPath := filepath.Join(keys, "me.pub"), filepath.Join(keys, "other.pub")
	os.WriteFile(pubPath, pub, 0o644)
	os.WriteFile(otherPath, otherPub, 0o644)

	unsigned := filepath.Join(t.TempDir(), "unsigned.tpack")
	if _, err := Build(dir, unsigned); err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(t.TempDir(), "signed.tpack")
	if _, err := Build(dir, signed); err != nil {
		t.Fatal(err)
	}
	cache := &Cache{Dir: t.TempDir()}
	if _, err := SignRef(t.Context(), signed, priv, OpenOptions{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	// A pack declaring a capability, and a lockfile pinning shop@1.2.3
	// to another digest.
	capDir := t.TempDir()
	writePackFiles(t, capDir)
	cm := testManifest()
	cm.Capabilities = []string{"backend:sqlite"}
	if _, err := Finalize(capDir, cm); err != nil {
		t.Fatal(err)
	}
	badLock := filepath.Join(t.TempDir(), LockFile)
	l := &Lock{}
	l.Pin("shop", "1.2.3", "sha256:"+strings.Repeat("00", 32))
	if err := l.Write(badLock); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		ref     string
		opts    ResolveOptions
		wantErr error
		errHas  string
	}{
		{"directory", dir, ResolveOptions{}, nil, ""},
		{"archive", unsigned, ResolveOptions{}, nil, ""},
		{"environment by name", dir, ResolveOptions{Env: "checkout"}, nil, ""},
		{"environment after #", signed + "#checkout", ResolveOptions{}, nil, ""},
		{"unknown environment", dir + "#nope", ResolveOptions{}, ErrNoEnvironment, "nope"},
		{"trusted signature", signed, ResolveOptions{TrustKey: pubPath}, nil, ""},
		{"unsigned with trust", unsigned, ResolveOptions{TrustKey: pubPath}, ErrUnsigned, "--trust"},
		{"signed by another key", signed, ResolveOptions{TrustKey: otherPath}, ErrBadSignature, "not by the trusted key"},
		{"lockfile mismatch", dir, ResolveOptions{Lockfile: badLock}, ErrLockMismatch, "shop@1.2.3"},
		{"capability not granted", capDir, ResolveOptions{}, ErrCapability, "--allow backend:sqlite"},
		{"capability granted", capDir, ResolveOptions{Allow: []string{"backend:sqlite"}}, nil, ""},
		{"missing", filepath.Join(dir, "nothing"), ResolveOptions{}, os.ErrNotExist, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Cache = cache
			src, m, d, err := Resolve(t.Context(), tt.ref, tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Resolve: %v, want %v containing %q", err, tt.wantErr, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if m.Name != "shop" || !bytes.Equal(src.Wasm, fakeModule) {
				t.Fatalf("Resolve gave %s and %d module bytes", m.Name, len(src.Wasm))
			}
			if len(m.Capabilities) == 0 && d != digest {
				t.Fatalf("digest %s, want %s", d, digest)
			}
		})
	}
}

// A lockfile given to Resolve pins a new pack, then refuses a changed one.
func TestResolvePinsThenRefuses(t *testing.T) {
	dir, digest := makePack(t)
	lock := filepath.Join(t.TempDir(), LockFile)
	opts := ResolveOptions{Lockfile: lock, OpenOptions: OpenOptions{Cache: &Cache{Dir: t.TempDir()}}}
	if _, _, _, err := Resolve(t.Context(), dir, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(lock)
	if err != nil || !bytes.Contains(b, []byte(digest)) {
		t.Fatalf("lockfile %q (%v) does not pin %s", b, err, digest)
	}
	// Same name and version, other content.
	os.WriteFile(filepath.Join(dir, "data/tasks.json"), []byte(`{"tasks":[]}`), 0o644)
	m := testManifest()
	if _, err := Finalize(dir, m); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Resolve(t.Context(), dir, opts); !errors.Is(err, ErrLockMismatch) {
		t.Fatalf("Resolve of a changed pack: %v, want ErrLockMismatch", err)
	}
}

// --env accepts packs through envload.
func TestEnvloadResolver(t *testing.T) {
	t.Setenv("TERRARIUM_PACK_CACHE", t.TempDir())
	dir, _ := makePack(t)
	arch := filepath.Join(t.TempDir(), "shop.tpack")
	if _, err := Build(dir, arch); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{dir, dir + "#checkout", arch} {
		src, err := envload.Resolve(context.Background(), ref)
		if err != nil {
			t.Fatalf("envload.Resolve(%s): %v", ref, err)
		}
		if !bytes.Equal(src.Wasm, fakeModule) {
			t.Fatalf("envload.Resolve(%s) gave another module", ref)
		}
	}
	// A plain .wasm file is left to envload's own rule.
	wasm := filepath.Join(t.TempDir(), "m.wasm")
	os.WriteFile(wasm, fakeModule, 0o644)
	if _, ok, err := resolveEnv(context.Background(), wasm); ok || err != nil {
		t.Fatalf("resolveEnv claimed a .wasm file: %v %v", ok, err)
	}
}
