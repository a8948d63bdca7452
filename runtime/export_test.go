package runtime

// Test support shared by the package's internal tests and benchmarks and by
// the external tests (package runtime_test), which see these exported names
// because this file is part of the package when testing.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
)

// testCacheDir is a compilation cache private to this test binary: the echo
// env takes seconds to compile, and tests must not depend on earlier runs.
var testCacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "terrarium-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// WithTestCache returns cfg using the test binary's compilation cache.
func WithTestCache(cfg Config) Config { return cfg.WithCompilationCacheDir(testCacheDir) }

var echo struct {
	once sync.Once
	wasm []byte
	err  error
}

// EchoWasm returns testdata/echo built to wasm, building it once per test
// binary.
func EchoWasm(tb testing.TB) []byte {
	tb.Helper()
	echo.once.Do(func() {
		path, err := gobuild.Build(context.Background(), "testdata/echo")
		if err != nil {
			echo.err = err
			return
		}
		echo.wasm, echo.err = os.ReadFile(path)
	})
	if echo.err != nil {
		tb.Fatalf("build the echo env: %v", echo.err)
	}
	return echo.wasm
}

// Wat2Wasm compiles WebAssembly text with wabt's wat2wasm. The WAT tests
// prove that the ABI document's example works, so a missing tool is a
// failure, never a skip.
func Wat2Wasm(tb testing.TB, src string) []byte {
	tb.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		tb.Fatalf("wat2wasm is required to test the WAT environments and was not found (%v): install the Debian package wabt (apt-get install wabt)", err)
	}
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	if b, err := exec.Command(tool, in, "-o", out).CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}
