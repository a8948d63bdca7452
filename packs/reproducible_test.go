package packs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/terrarium-rl/terrarium/pack"
	"github.com/terrarium-rl/terrarium/packs/internal/packgen"
)

// TestReproducible rebuilds every shipped pack from its environment's
// source, as `go generate ./packs` does, and fails when the bytes differ
// from the committed file: a committed pack must be what its source builds
// to.
func TestReproducible(t *testing.T) {
	for _, p := range packgen.Shipped {
		t.Run(p.File, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), p.File)
			if _, err := packgen.Build(context.Background(), "..", p, out); err != nil {
				t.Fatalf("rebuild the pack: %v", err)
			}
			built, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(p.File)
			if err != nil {
				t.Fatalf("read the committed pack: %v (run `go generate ./packs`)", err)
			}
			if bytes.Equal(built, committed) {
				return
			}
			t.Fatalf("packs/%s is not what %s builds to:\n"+
				"  committed: sha256 %x, %d bytes, %s\n"+
				"  rebuilt:   sha256 %x, %d bytes, %s (this toolchain: %s)\n"+
				"If the environment, the SDK, the ABI, a dependency or the pack format changed, run `go generate ./packs` and commit packs/%s; "+
				"if only the Go versions differ, build with the version that built the committed pack.",
				p.File, p.Env,
				sha256.Sum256(committed), len(committed), describe(t, p.File),
				sha256.Sum256(built), len(built), describe(t, out), runtime.Version(),
				p.File)
		})
	}
}

// describe names a pack file's digest and the toolchain its provenance
// records, for the message.
func describe(t *testing.T, file string) string {
	p, err := pack.Open(context.Background(), file, pack.OpenOptions{Cache: &pack.Cache{Dir: t.TempDir()}})
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return "pack digest " + p.Digest + ", built with " + p.Manifest.Provenance.Toolchain
}
