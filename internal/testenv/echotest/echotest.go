// Package echotest gives tests anywhere in the module the runtime's echo
// test environment (runtime/testdata/echo, logic in internal/testenv),
// built to WebAssembly and loaded once per test binary.
//
// Packages that runtime itself imports (internal/wasmbin) cannot use it, and
// build the env with internal/gobuild directly.
package echotest

import (
	"context"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

var built struct {
	once sync.Once
	wasm []byte
	err  error
}

// Dir is the echo env's source directory.
func Dir() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "runtime", "testdata", "echo")
}

// Wasm returns the echo env's module, building it on first use.
func Wasm(tb testing.TB) []byte {
	tb.Helper()
	built.once.Do(func() {
		p, err := gobuild.Build(context.Background(), Dir())
		if err == nil {
			built.wasm, err = os.ReadFile(p)
		}
		built.err = err
	})
	if built.err != nil {
		tb.Fatalf("build the echo env: %v", built.err)
	}
	return built.wasm
}

var loaded struct {
	once sync.Once
	env  *trt.Env
	err  error
}

// Load returns the echo env loaded into a host of default configuration
// without an on-disk compilation cache, shared by the test binary: an Env
// is safe for concurrent use and every episode starts from its snapshot, so
// tests cannot see each other through it.
func Load(tb testing.TB) *trt.Env {
	tb.Helper()
	wasm := Wasm(tb)
	loaded.once.Do(func() {
		ctx := context.Background()
		h, err := trt.New(ctx, trt.NewConfig().WithCompilationCacheDir(""))
		if err != nil {
			loaded.err = err
			return
		}
		loaded.env, loaded.err = h.Load(ctx, trt.Source{Name: "echo.wasm", Wasm: wasm})
	})
	if loaded.err != nil {
		tb.Fatalf("load the echo env: %v", loaded.err)
	}
	return loaded.env
}
