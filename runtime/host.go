// Package runtime is Terrarium's sandbox host. It loads environment modules
// (WebAssembly, ABI v1, see docs/abi.md), compiles each once, and runs each
// episode in a fresh, isolated instance whose whole view of the world (clock,
// randomness, input, output) is owned by the host, so that the same module,
// seed and actions give the same bytes out.
//
//	host, err := runtime.New(ctx, runtime.NewConfig())
//	defer host.Close(ctx)
//	env, err := host.Load(ctx, runtime.Source{Name: "bank.wasm", Wasm: wasm})
//	ep, obs, err := env.Start(ctx, seed, task)
//	defer ep.Close(ctx)
//	res, err := ep.Step(ctx, action)
//	score, err := ep.Score(ctx)
//
// # Notes
//
//   - Host and Env are safe for concurrent use; an Episode is not (one
//     goroutine drives it), and many episodes may run at once.
//   - A guest fault (trap, timeout, memory, output flood, protocol
//     violation) returns a *Fault and closes that episode's instance; it
//     never affects other episodes or the host.
//   - The package is named runtime after its folder; import it with a name
//     (for example trt "github.com/terrarium-rl/terrarium/runtime") where
//     the standard library's runtime is also needed.
package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/terrarium-rl/terrarium/abi"
)

// Host runs environments. Make one with New and Close it when done.
type Host struct {
	cfg   Config
	rt    wazero.Runtime
	cache wazero.CompilationCache
}

// New returns a Host configured by cfg.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.memoryLimitPages == 0 || cfg.memoryLimitPages > 65536 {
		return nil, fmt.Errorf("runtime: memory limit %d pages outside 1..65536", cfg.memoryLimitPages)
	}
	if cfg.stepTimeout <= 0 {
		return nil, fmt.Errorf("runtime: step timeout must be positive")
	}
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(cfg.memoryLimitPages).
		WithCloseOnContextDone(cfg.checksContext()).
		WithCoreFeatures(api.CoreFeaturesV2)
	dir := cfg.cacheDir
	if !cfg.cacheSet {
		if d, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(d, "terrarium", "wazero")
		}
	}
	h := &Host{cfg: cfg}
	if dir != "" {
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("runtime: compilation cache %s: %w", dir, err)
		}
		h.cache = c
		rc = rc.WithCompilationCache(c)
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		h.Close(ctx)
		return nil, fmt.Errorf("runtime: wasi: %w", err)
	}
	_, err := h.rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().WithFunc(hostLog).Export(abi.ImportLog).
		NewFunctionBuilder().WithFunc(hostBackendCall).Export(abi.ImportBackendCall).
		NewFunctionBuilder().WithFunc(hostBackendResult).Export(abi.ImportBackendResult).
		Instantiate(ctx)
	if err != nil {
		h.Close(ctx)
		return nil, fmt.Errorf("runtime: host module: %w", err)
	}
	return h, nil
}

// Close releases the host and every env and episode made from it.
func (h *Host) Close(ctx context.Context) error {
	var err error
	if h.rt != nil {
		err = h.rt.Close(ctx)
	}
	if h.cache != nil {
		if cerr := h.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

type sysKey struct{}

// hostLog implements terrarium.log(level, ptr, len).
func hostLog(ctx context.Context, m api.Module, level, ptr, n uint32) {
	s, _ := ctx.Value(sysKey{}).(*episodeSys)
	if s == nil {
		return
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("log: message [%d,+%d) outside memory", ptr, n))
	}
	prefix := [...]string{"debug", "info", "warn", "error"}
	p := "log"
	if int(level) < len(prefix) {
		p = prefix[level]
	}
	line := make([]byte, 0, len(p)+len(b)+4)
	line = append(line, '[')
	line = append(line, p...)
	line = append(line, "] "...)
	line = append(line, b...)
	line = append(line, '\n')
	if _, err := s.write(line); err != nil {
		panic(err)
	}
}
