package jsenv_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"runtime"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
)

// TestRunnerReproducible rebuilds the runner from source, with the flags of
// the go:generate line in jsenv.go (those of internal/gobuild), and fails
// when the bytes differ from the embedded jsrunner.wasm: the committed
// binary must be what its source builds to.
func TestRunnerReproducible(t *testing.T) {
	out, err := gobuild.Build(context.Background(), "../../envs/jsrunner")
	if err != nil {
		t.Fatalf("rebuild the runner: %v", err)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	embedded := jsenv.Runner()
	if bytes.Equal(built, embedded) {
		return
	}
	t.Fatalf("internal/jsenv/jsrunner.wasm is not what envs/jsrunner builds to:\n"+
		"  embedded: sha256 %x, %d bytes, built with %s\n"+
		"  rebuilt:  sha256 %x, %d bytes, built with %s (this toolchain: %s)\n"+
		"If the runner, the SDK or a dependency changed, run `go generate ./internal/jsenv` and commit jsrunner.wasm; "+
		"if only the Go versions differ, build with the version that built the embedded runner.",
		sha256.Sum256(embedded), len(embedded), goVersion(embedded),
		sha256.Sum256(built), len(built), goVersion(built), runtime.Version())
}

// goVersion reads the compiler version from a Go wasm module's "producers"
// custom section (debug/buildinfo does not read wasm), for the message.
func goVersion(wasm []byte) string {
	const key = "\x0eGo cmd/compile"
	i := bytes.Index(wasm, []byte(key))
	if i < 0 || i+len(key) >= len(wasm) {
		return "an unknown Go version"
	}
	i += len(key)
	n := int(wasm[i])
	if i+1+n > len(wasm) {
		return "an unknown Go version"
	}
	return string(wasm[i+1 : i+1+n])
}
