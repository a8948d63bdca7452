package bench

// Guests called through wazero directly ("raw"): no snapshot, no per-call
// deadline, no reply checks, wazero's WithCloseOnContextDone off, the
// module as built (without the host's rewrite for snapshots). They split a
// sandboxed figure into the guest's own work and what runtime adds, and,
// run once as built and once instrumented by wasmbin.InstrumentFuel, they
// isolate what fuel metering costs in guest code.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/wasmbin"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// rawInstance is a guest instance driven with the ABI's calls directly.
type rawInstance struct {
	mod api.Module
	fns map[string]api.Function
}

// rawRuntime makes the wazero runtime of the raw figures, sharing runtime's
// default compilation cache (wazero keys modules compiled with and without
// its context check apart).
func (r *runner) rawRuntime(ctx context.Context) (wazero.Runtime, error) {
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(false).
		WithMemoryLimitPages(trt.DefaultMemoryLimitPages).WithCoreFeatures(api.CoreFeaturesV2)
	if d, err := os.UserCacheDir(); err == nil {
		cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(d, "terrarium", "wazero"))
		if err != nil {
			return nil, fmt.Errorf("bench: compilation cache: %w", err)
		}
		r.onClose(func(ctx context.Context) { cache.Close(ctx) })
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	r.onClose(func(ctx context.Context) { rt.Close(ctx) })
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("bench: wasi: %w", err)
	}
	// The benchmarked guests call no backend; the imports must exist all the
	// same (a guest built with the SDK imports them), answering "not granted".
	_, err := rt.NewHostModuleBuilder(abi.ImportModule).NewFunctionBuilder().
		WithFunc(func(context.Context, api.Module, uint32, uint32, uint32) {}).Export(abi.ImportLog).
		NewFunctionBuilder().WithFunc(func(context.Context, api.Module, uint32, uint32, uint32, uint32) uint32 {
		return uint32(abi.StatusUnsupported)
	}).Export(abi.ImportBackendCall).
		NewFunctionBuilder().WithFunc(func(context.Context, api.Module, uint32, uint32) uint32 { return 0 }).
		Export(abi.ImportBackendResult).
		Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: host module: %w", err)
	}
	return rt, nil
}

// newRawInstance instantiates wasm and configures it with src's
// configuration.
func newRawInstance(ctx context.Context, rt wazero.Runtime, src trt.Source, wasm []byte) (*rawInstance, error) {
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return nil, fmt.Errorf("bench: instantiate %s: %w", src.Name, err)
	}
	// Looked up once: each ExportedFunction call makes a new function
	// with its own stack.
	in := &rawInstance{mod: mod, fns: map[string]api.Function{}}
	for _, name := range []string{abi.ExportBuffer, abi.ExportConfigure, abi.ExportReset, abi.ExportStep, abi.ExportResultPtr, abi.ExportResultLen} {
		if in.fns[name] = mod.ExportedFunction(name); in.fns[name] == nil && name != abi.ExportConfigure {
			return nil, fmt.Errorf("bench: %s exports no %s", src.Name, name)
		}
	}
	if src.Config != nil {
		if _, err := in.request(ctx, abi.ExportConfigure, src.Config); err != nil {
			return nil, fmt.Errorf("bench: configure %s: %w", src.Name, err)
		}
	}
	return in, nil
}

func (in *rawInstance) call(ctx context.Context, name string, params ...uint64) (uint64, error) {
	f := in.fns[name]
	if f == nil {
		return 0, fmt.Errorf("no export %s", name)
	}
	res, err := f.Call(ctx, params...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return res[0], nil
}

// request makes one ABI request as runtime does: the body into the guest's
// buffer, the call, then the reply copied out.
func (in *rawInstance) request(ctx context.Context, name string, body []byte, params ...uint64) ([]byte, error) {
	if len(body) > 0 {
		p, err := in.call(ctx, abi.ExportBuffer, uint64(len(body)))
		if err != nil {
			return nil, err
		}
		if !in.mod.Memory().Write(uint32(p), body) {
			return nil, fmt.Errorf("%s: buffer outside memory", name)
		}
	}
	st, err := in.call(ctx, name, append(params, uint64(len(body)))...)
	if err != nil {
		return nil, err
	}
	p, err := in.call(ctx, abi.ExportResultPtr)
	if err != nil {
		return nil, err
	}
	n, err := in.call(ctx, abi.ExportResultLen)
	if err != nil {
		return nil, err
	}
	reply, ok := in.mod.Memory().Read(uint32(p), uint32(n))
	if !ok {
		return nil, fmt.Errorf("%s: reply outside memory", name)
	}
	if st != uint64(abi.StatusOK) {
		return nil, fmt.Errorf("%s: status %d: %s", name, int32(st), reply)
	}
	return append([]byte(nil), reply...), nil
}

// step is the raw counterpart of Episode.Step: the action encoded, the
// reply decoded.
func (in *rawInstance) step(ctx context.Context, act abi.Message) (*abi.StepResult, error) {
	b, err := json.Marshal(act)
	if err != nil {
		return nil, err
	}
	reply, err := in.request(ctx, abi.ExportStep, b)
	if err != nil {
		return nil, err
	}
	var res abi.StepResult
	if err := json.Unmarshal(reply, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// placed is a figure and the figure it is listed after.
type placed struct {
	after string
	c     *timed
}

// rawCases lists the raw figures.
func (r *runner) rawCases(ctx context.Context) ([]placed, error) {
	rt, err := r.rawRuntime(ctx)
	if err != nil {
		return nil, err
	}
	var firstErr error
	must := func(c *timed, err error) *timed {
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return c
	}
	live := func(src trt.Source, wasm []byte) (*rawInstance, error) {
		in, err := newRawInstance(ctx, rt, src, wasm)
		if err != nil {
			return nil, err
		}
		r.onClose(func(ctx context.Context) { in.mod.Close(ctx) })
		_, err = in.request(ctx, abi.ExportReset, nil, 0, 0)
		return in, err
	}

	// step times one step of a live raw episode, task 0.
	step := func(res Result, src trt.Source, fuel bool, first firstAction, check func(*abi.StepResult) error) (*timed, error) {
		wasm := src.Wasm
		if fuel {
			var err error
			if wasm, _, err = wasmbin.InstrumentFuel(src.Wasm); err != nil {
				return nil, fmt.Errorf("bench: fuel %s: %w", src.Name, err)
			}
		}
		in, err := live(src, wasm)
		if err != nil {
			return nil, err
		}
		steps := -1
		var (
			seed uint64
			act  abi.Message
		)
		return &timed{Result: res,
			between: func(ctx context.Context) error {
				if steps >= 0 && steps < restartEvery {
					return nil
				}
				seed++
				steps = 0
				if _, err := in.request(ctx, abi.ExportReset, nil, seed, 0); err != nil {
					return err
				}
				var err error
				act, err = first(ctx, in.step)
				return err
			},
			op: func(ctx context.Context) error {
				steps++
				res, err := in.step(ctx, act)
				if err != nil {
					return err
				}
				return check(res)
			}}, nil
	}
	// reset times terrarium_reset alone in a live raw instance.
	reset := func(res Result, src trt.Source, tasks uint64) (*timed, error) {
		in, err := live(src, src.Wasm)
		if err != nil {
			return nil, err
		}
		var seed uint64
		return &timed{Result: res, op: func(ctx context.Context) error {
			seed++
			_, err := in.request(ctx, abi.ExportReset, nil, seed, seed%tasks)
			return err
		}}, nil
	}
	// stepCall times terrarium_step alone, the action already in the
	// guest's buffer (guess.wat reads it without consuming it).
	stepCall := func(res Result, src trt.Source, act abi.Message) (*timed, error) {
		in, err := live(src, src.Wasm)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(act)
		if err != nil {
			return nil, err
		}
		return &timed{Result: res,
			between: func(ctx context.Context) error {
				p, err := in.call(ctx, abi.ExportBuffer, uint64(len(b)))
				if err == nil && !in.mod.Memory().Write(uint32(p), b) {
					err = fmt.Errorf("buffer outside memory")
				}
				return err
			},
			op: func(ctx context.Context) error {
				st, err := in.call(ctx, abi.ExportStep, uint64(len(b)))
				if err == nil && st != uint64(abi.StatusOK) {
					err = fmt.Errorf("step status %d", int32(st))
				}
				return err
			}}, nil
	}
	raw := func(name string) Result {
		return Result{Name: name + "-raw", Baseline: name, Note: name + " through wazero directly, with none of runtime's work around the calls, as built (no fuel)"}
	}
	astraCall, checkAstra := r.astraAction()
	out := []placed{
		{"start/go", must(reset(Result{Name: "reset/go-call-raw", Baseline: "start/go",
			Note: "terrarium_reset alone in one live echo instance through wazero directly, without restore: the guest's own reset work"}, r.src.goEcho, 4))},
		{"start/wat", must(reset(Result{Name: "reset/wat-call-raw", Baseline: "start/wat", Note: "the same for guess.wat"}, r.src.wat, 3))},
		{"step/wat", must(stepCall(Result{Name: "step/wat-call-raw", Baseline: "step/wat",
			Note: "terrarium_step alone on guess.wat, the action already in its buffer: the env's own work in a step"}, r.src.wat, toolCall("guess", `{"n":50}`)))},
		{"step/wat-call-raw", must(step(raw("step/wat"), r.src.wat, false, guessStart, oneTool))},
	}
	for _, s := range []struct {
		name  string
		src   trt.Source
		first firstAction
		check func(*abi.StepResult) error
	}{
		{"step/go", r.src.goEcho, sayStart, oneTool},
		{"step/js", r.src.jsInv, inventoryStart, oneTool},
		{"call/astra", r.src.astra, astraCall, checkAstra},
	} {
		out = append(out, placed{s.name, must(step(raw(s.name), s.src, false, s.first, s.check))})
		if r.opts.Fuel {
			out = append(out, placed{s.name + "-raw", must(step(Result{Name: s.name + "-raw-fuel", Baseline: s.name + "-raw",
				Note: s.name + "-raw with the module instrumented for fuel (wasmbin.InstrumentFuel): what metering costs in guest code"},
				s.src, true, s.first, s.check))})
		}
	}
	return out, firstErr
}
