package runtime

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
)

var backendEnv struct {
	once sync.Once
	wasm []byte
	err  error
}

// BackendWasm returns testdata/backend built to wasm, once per test binary.
func BackendWasm(tb testing.TB) []byte {
	tb.Helper()
	backendEnv.once.Do(func() {
		path, err := gobuild.Build(context.Background(), "testdata/backend")
		if err != nil {
			backendEnv.err = err
			return
		}
		backendEnv.wasm, backendEnv.err = os.ReadFile(path)
	})
	if backendEnv.err != nil {
		tb.Fatalf("build the backend env: %v", backendEnv.err)
	}
	return backendEnv.wasm
}
