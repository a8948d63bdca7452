package module

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"runtime"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
)

// TestReproducible rebuilds the runner from source and checks that the
// committed module is what the source builds to. It needs the Go toolchain
// named in the package comment.
func TestReproducible(t *testing.T) {
	if v := runtime.Version(); v != Toolchain {
		t.Fatalf("the committed module was built with %s but this is %s: build with %s, or rebuild the module and update Toolchain", Toolchain, v, Toolchain)
	}
	out, err := gobuild.Build(context.Background(), "..")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, Wasm) {
		t.Fatalf("envs/astra/module/astra.wasm is stale: the source builds to sha256 %x, the committed file is %x;"+
			" rebuild it (see the package comment)", sha256.Sum256(b), sha256.Sum256(Wasm))
	}
}
