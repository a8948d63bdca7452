package jsenv_test

// Benchmarks of JavaScript environments against the Go SDK, side by side in
// one run:
//
//	go test ./internal/jsenv -run '^$' -bench . -count 5
//
// go-echo is runtime/testdata/echo (Go SDK); js-echo is testdata/echo.js,
// the same env in JavaScript (same spec, opening message, tools and "say").
//
// Start: a new episode (a recycled instance, terrarium_reset) and its
//   Close, which restores the instance to the snapshot: restore-us/op and
//   pages/restore are that restore's time and the written pages it copied
//   back.
// Step: one "say" tool call round trip on a live episode.
// Instance: instances made with wazero directly, as runtime makes them,
//   without its snapshots: instantiate alone (Go runtime start-up), and a
//   whole fresh episode (instantiate, configure with the script for JS,
//   reset, close), reporting the linear memory the instance holds after
//   reset (MiB/instance); and resets in one live instance.
//
// envs/jsrunner's BenchmarkNative runs js-echo in goja without WebAssembly.

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
	"github.com/terrarium-rl/terrarium/internal/testenv/echotest"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// goEchoWasm returns the runtime's Go echo env.
func goEchoWasm(b *testing.B) []byte { return echotest.Wasm(b) }

func readFile(b *testing.B, path string) []byte {
	b.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return src
}

// benchSources are the envs compared, by benchmark name.
func benchSources(b *testing.B) []struct {
	name string
	src  trt.Source
} {
	return []struct {
		name string
		src  trt.Source
	}{
		{"go-echo", trt.Source{Name: "echo.wasm", Wasm: goEchoWasm(b)}},
		{"js-echo", jsenv.Source("echo.js", readFile(b, "testdata/echo.js"))},
		{"js-inventory", jsenv.Source("inventory", readFile(b, inventoryDir+"/env.js"))},
	}
}

var sayHello = abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
	Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}

func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	h := newHost(b, trt.NewConfig())
	for _, s := range benchSources(b) {
		b.Run(s.name, func(b *testing.B) {
			env, err := h.Load(ctx, s.src)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				ep, _, err := env.Start(ctx, 1, 0)
				if err != nil {
					b.Fatal(err)
				}
				ep.Close(ctx)
			}
			if st := env.Stats(); st.Restores > 0 {
				b.ReportMetric(float64(st.RestoreTime.Nanoseconds())/1e3/float64(st.Restores), "restore-us/op")
				b.ReportMetric(float64(st.PagesRestored)/float64(st.Restores), "pages/restore")
				b.ReportMetric(float64(st.SnapshotBytes)/(1<<20), "image-MiB")
			}
		})
	}
}

func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	h := newHost(b, trt.NewConfig())
	for _, s := range benchSources(b)[:2] {
		b.Run(s.name, func(b *testing.B) {
			env, err := h.Load(ctx, s.src)
			if err != nil {
				b.Fatal(err)
			}
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer ep.Close(ctx)
			for b.Loop() {
				if _, err := ep.Step(ctx, sayHello); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInstance measures what one live episode costs in memory, with
// wazero directly because runtime does not expose its instances.
func BenchmarkInstance(b *testing.B) {
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close(ctx)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache).
		WithMemoryLimitPages(trt.DefaultMemoryLimitPages).WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err = rt.NewHostModuleBuilder(abi.ImportModule).NewFunctionBuilder().
		WithFunc(func(context.Context, api.Module, uint32, uint32, uint32) {}).Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range benchSources(b)[:2] {
		compiled, err := rt.CompileModule(ctx, s.src.Wasm)
		if err != nil {
			b.Fatal(err)
		}
		mc := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize")
		b.Run(s.name+"/instantiate", func(b *testing.B) {
			for b.Loop() {
				mod, err := rt.InstantiateModule(ctx, compiled, mc)
				if err != nil {
					b.Fatal(err)
				}
				mod.Close(ctx)
			}
		})
		b.Run(s.name+"/episode", func(b *testing.B) {
			var pages uint32
			for b.Loop() {
				mod, err := rt.InstantiateModule(ctx, compiled, mc)
				if err != nil {
					b.Fatal(err)
				}
				if s.src.Config != nil {
					rawCall(b, mod, abi.ExportConfigure, s.src.Config)
				}
				rawCall(b, mod, abi.ExportReset, nil, 1, 0)
				pages = mod.Memory().Size() / 65536
				mod.Close(ctx)
			}
			b.ReportMetric(float64(pages)/16, "MiB/instance")
		})
		// Resets in one live instance: for JS, each makes a new goja
		// runtime once the prepared ones are used, so this bounds the
		// reset part of Start from above.
		b.Run(s.name+"/reset", func(b *testing.B) {
			mod, err := rt.InstantiateModule(ctx, compiled, mc)
			if err != nil {
				b.Fatal(err)
			}
			defer mod.Close(ctx)
			if s.src.Config != nil {
				rawCall(b, mod, abi.ExportConfigure, s.src.Config)
			}
			for b.Loop() {
				rawCall(b, mod, abi.ExportReset, nil, 1, 0)
			}
		})
	}
}

// rawCall writes body into the guest's buffer and calls fn(params..., len).
func rawCall(b *testing.B, mod api.Module, fn string, body []byte, params ...uint64) {
	b.Helper()
	ctx := context.Background()
	if len(body) > 0 {
		ptr, err := mod.ExportedFunction(abi.ExportBuffer).Call(ctx, uint64(len(body)))
		if err != nil || !mod.Memory().Write(uint32(ptr[0]), body) {
			b.Fatalf("%s: write request: %v", fn, err)
		}
	}
	st, err := mod.ExportedFunction(fn).Call(ctx, append(params, uint64(len(body)))...)
	if err != nil || st[0] != 0 {
		b.Fatalf("%s: status %v, %v", fn, st, err)
	}
}
