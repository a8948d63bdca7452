package jsenv_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
)

func TestScratchMem(t *testing.T) {
	ctx := context.Background()
	cache, _ := wazero.NewCompilationCacheWithDir(cacheDir)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCoreFeatures(api.CoreFeaturesV2))
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	rt.NewHostModuleBuilder(abi.ImportModule).NewFunctionBuilder().
		WithFunc(func(context.Context, api.Module, uint32, uint32, uint32) {}).Export(abi.ImportLog).Instantiate(ctx)
	wasm := jsenv.Runner()
	if w := os.Getenv("RUNNER"); w != "" {
		wasm, _ = os.ReadFile(w)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{inventoryDir + "/env.js", "testdata/echo.js"} {
		src, _ := os.ReadFile(p)
		t0 := time.Now()
		mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: instantiate %v, %d pages", p, time.Since(t0), mod.Memory().Size()/65536)
		t0 = time.Now()
		rawCallT(t, mod, abi.ExportConfigure, src)
		t.Logf("configure %v, %d pages", time.Since(t0), mod.Memory().Size()/65536)
		for i := 0; i < 5; i++ {
			t0 = time.Now()
			rawCallT(t, mod, abi.ExportReset, nil, uint64(i), 0)
			t.Logf("reset %d: %v, %d pages", i, time.Since(t0), mod.Memory().Size()/65536)
		}
		mod.Close(ctx)
	}
}

func rawCallT(t *testing.T, mod api.Module, fn string, body []byte, params ...uint64) {
	ctx := context.Background()
	if len(body) > 0 {
		ptr, err := mod.ExportedFunction(abi.ExportBuffer).Call(ctx, uint64(len(body)))
		if err != nil || !mod.Memory().Write(uint32(ptr[0]), body) {
			t.Fatalf("%s: write request: %v", fn, err)
		}
	}
	st, err := mod.ExportedFunction(fn).Call(ctx, append(params, uint64(len(body)))...)
	if err != nil || st[0] != 0 {
		t.Fatalf("%s: status %v, %v", fn, st, err)
	}
}
