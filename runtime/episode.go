package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/terrarium-rl/terrarium/abi"
)

// instance is one instantiated guest with its host-side state.
type instance struct {
	env  *Env
	mod  api.Module
	sys  *episodeSys
	fns  struct{ version, buffer, configure, spec, reset, step, score, oracle, rptr, rlen api.Function }
	dead *Fault // set when the instance faulted; it is closed then
	// globals are the module's mutable globals, exported by the host's
	// rewrite of the module, for snapshot and restore.
	globals []api.MutableGlobal
	fuel    instanceFuel // fuel.go
	// cow is the instance's linear memory when the env restores by
	// copy-on-write (see cow_linux.go).
	cow *cowMemory
	// stack holds the params and results of a guest call
	// (api.Function.CallWithStack), so that calls do not allocate.
	stack [8]uint64
}

// instantiate makes a new instance of the module. configure says whether to
// hand it the env's configuration; an instance about to be restored to the
// snapshot skips that, since the snapshot already holds its effect.
func (e *Env) instantiate(ctx context.Context, configure bool) (*instance, error) {
	h := e.host
	s := newEpisodeSys(h.cfg.outputLimitBytes)
	mc := wazero.NewModuleConfig().
		WithName("").         // anonymous: any number of instances may live at once
		WithStartFunctions(). // _initialize is called below, metered like any call
		WithRandSource(s).
		WithWalltime(s.walltime, 1).
		WithNanotime(s.nanotime, 1).
		WithNanosleep(s.nanosleep).
		WithOsyield(s.osyield).
		WithStdout(outWriter{s}).
		WithStderr(outWriter{s})
	// No WithArgs, WithEnv, WithFS, WithStdin: the guest sees no arguments,
	// no environment variables, no files and an empty stdin.
	in := &instance{env: e, sys: s}
	ictx := context.WithValue(ctx, sysKey{}, s)
	if e.image != nil {
		ictx = experimental.WithMemoryAllocator(ictx, experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
			m, err := newCowMemory(max)
			if err != nil {
				return &sliceMemory{}
			}
			in.cow = m
			return m
		}))
	}
	cctx, cancel := context.WithTimeout(ictx, h.cfg.stepTimeout)
	s.setCancel(cancel)
	mod, err := h.rt.InstantiateModule(cctx, e.compiled, mc)
	s.setCancel(nil)
	cancel()
	if err != nil {
		if mod != nil {
			mod.Close(ctx)
		}
		return nil, in.classify(ctx, "instantiate", err)
	}
	in.mod = mod
	f := &in.fns
	f.version = mod.ExportedFunction(abi.ExportABIVersion)
	f.buffer = mod.ExportedFunction(abi.ExportBuffer)
	f.configure = mod.ExportedFunction(abi.ExportConfigure)
	f.spec = mod.ExportedFunction(abi.ExportSpec)
	f.reset = mod.ExportedFunction(abi.ExportReset)
	f.step = mod.ExportedFunction(abi.ExportStep)
	f.score = mod.ExportedFunction(abi.ExportScore)
	f.oracle = mod.ExportedFunction(abi.ExportOracle)
	f.rptr = mod.ExportedFunction(abi.ExportResultPtr)
	f.rlen = mod.ExportedFunction(abi.ExportResultLen)
	if err := errors.Join(in.resolveGlobals(), in.resolveFuel()); err != nil {
		in.close(ctx)
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	// A WASI reactor's initializer (Go's runtime and package init) runs as
	// an ordinary call, so the budget bounds it too.
	if start := mod.ExportedFunction("_initialize"); start != nil {
		if _, err := in.call(ctx, "initialize", start); err != nil {
			in.close(ctx)
			return nil, err
		}
	}
	if e.config != nil && configure {
		if _, err := in.request(ctx, "configure", f.configure, e.config); err != nil {
			in.close(ctx)
			return nil, err
		}
	}
	return in, nil
}

func (in *instance) close(ctx context.Context) {
	if in.mod != nil {
		in.mod.Close(ctx)
		in.mod = nil
	}
}

// call runs fn with params under the step timeout, returning its single
// result. Any failure is classified into a Fault and closes the instance.
func (in *instance) call(ctx context.Context, op string, fn api.Function, params ...uint64) (uint64, error) {
	if in.dead != nil {
		return 0, fmt.Errorf("%s: %w (%s)", op, ErrClosed, in.dead.Error())
	}
	if in.mod == nil {
		return 0, fmt.Errorf("%s: %w", op, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		// Without wazero's context check (fuel on), a guest would not see
		// the cancellation: refuse to enter it at all.
		f := &Fault{Kind: FaultCanceled, Op: op, Reason: err.Error(), Output: in.sys.tail(2048)}
		in.dead = f
		in.close(ctx)
		return 0, f
	}
	cctx := in.withSys(ctx)
	if in.env.host.cfg.checksContext() {
		// Only with wazero's context check does a deadline stop a guest;
		// with fuel on, creating one per call would be pure overhead.
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(cctx, in.env.host.cfg.stepTimeout)
		in.sys.setCancel(cancel)
		defer func() { in.sys.setCancel(nil); cancel() }()
	}
	// Load checked every export's signature against the ABI (at most one
	// result, and the params the host passes), so the stack needs no
	// per-call check; asking fn.Definition would allocate.
	clear(in.stack[:])
	copy(in.stack[:], params)
	in.refuel(op)
	err := fn.CallWithStack(cctx, in.stack[:])
	in.spent()
	if err != nil {
		f := in.classify(ctx, op, err)
		in.close(ctx)
		return 0, f
	}
	return in.stack[0], nil // _initialize, without results, leaves its zero
}

// withSys returns ctx carrying the instance's episodeSys, which its host
// functions (clock, random, output, backends) read. request makes it once
// for its several guest calls.
func (in *instance) withSys(ctx context.Context) context.Context {
	if s, _ := ctx.Value(sysKey{}).(*episodeSys); s == in.sys {
		return ctx
	}
	return context.WithValue(ctx, sysKey{}, in.sys)
}

func (in *instance) protocol(ctx context.Context, op, format string, args ...any) *Fault {
	f := &Fault{Kind: FaultProtocol, Op: op, Reason: fmt.Sprintf(format, args...), Output: in.sys.tail(2048)}
	in.dead = f
	in.close(ctx)
	return f
}

// request writes body into the guest's buffer, calls fn (with extra params
// before the body length), and returns the reply of a StatusOK call. A
// non-OK status becomes a *GuestError, or a *Fault for an env failure.
func (in *instance) request(ctx context.Context, op string, fn api.Function, body []byte, params ...uint64) ([]byte, error) {
	if fn == nil {
		return nil, fmt.Errorf("%s: %w: export missing", op, ErrInvalidModule)
	}
	cfg := in.env.host.cfg
	if len(body) > cfg.requestLimit && fn != in.fns.configure { // a configuration is pinned by its pack, not sent by the agent
		return nil, fmt.Errorf("%s: %w: %d bytes (limit %d)", op, ErrRequestTooLarge, len(body), cfg.requestLimit)
	}
	ctx = in.withSys(ctx)
	takesBody := fn != in.fns.spec && fn != in.fns.score && fn != in.fns.oracle
	if takesBody {
		if len(body) > 0 {
			ptr, err := in.call(ctx, op, in.fns.buffer, uint64(len(body)))
			if err != nil {
				return nil, err
			}
			if !in.mod.Memory().Write(uint32(ptr), body) {
				return nil, in.protocol(ctx, op, "terrarium_buffer returned %#x, outside memory for %d bytes", uint32(ptr), len(body))
			}
		}
		params = append(params, uint64(len(body)))
	}
	st, err := in.call(ctx, op, fn, params...)
	if err != nil {
		return nil, err
	}
	status := abi.Status(int32(st))
	p, err := in.call(ctx, op, in.fns.rptr)
	if err != nil {
		return nil, err
	}
	n, err := in.call(ctx, op, in.fns.rlen)
	if err != nil {
		return nil, err
	}
	if int64(int32(n)) < 0 || int(uint32(n)) > cfg.replyLimitBytes {
		return nil, in.protocol(ctx, op, "reply of %d bytes exceeds the limit of %d", int32(n), cfg.replyLimitBytes)
	}
	reply, ok := in.mod.Memory().Read(uint32(p), uint32(n))
	if !ok {
		return nil, in.protocol(ctx, op, "reply [%#x,+%d) is outside memory", uint32(p), uint32(n))
	}
	reply = append([]byte(nil), reply...) // the guest may reuse its memory
	if status == abi.StatusOK {
		// Callers decode the reply strictly and fault the episode when it is
		// not the JSON they expect; validating here too would parse twice.
		return reply, nil
	}
	var ge abi.Error
	if err := json.Unmarshal(reply, &ge); err != nil || ge.Error == "" {
		ge.Error = fmt.Sprintf("%.200q", reply)
	}
	switch status {
	case abi.StatusBadRequest, abi.StatusBadState, abi.StatusUnsupported:
		return nil, &GuestError{Op: op, Status: status, Message: ge.Error}
	case abi.StatusEnvFailure:
		f := &Fault{Kind: FaultEnv, Op: op, Reason: ge.Error, Output: in.sys.tail(2048)}
		in.dead = f
		in.close(ctx)
		return nil, f
	}
	return nil, in.protocol(ctx, op, "unknown status %d", status)
}

// classify turns an error from wazero into a Fault and marks the instance
// dead.
func (in *instance) classify(ctx context.Context, op string, err error) *Fault {
	f := &Fault{Op: op, Output: in.sys.tail(2048)}
	var exit *sys.ExitError
	switch {
	case in.sys.flooded:
		f.Kind = FaultOutput
		f.Reason = fmt.Sprintf("guest wrote more than %d bytes of output", in.sys.outLimit)
	case in.sys.backend.fault != "":
		f.Kind, f.Reason = FaultBackend, in.sys.backend.fault
	case in.outOfFuel():
		f.Kind, f.Reason = FaultBudget, in.budgetReason()
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		if ctx.Err() != nil {
			f.Kind, f.Reason = FaultCanceled, ctx.Err().Error()
		} else {
			f.Kind = FaultTimeout
			f.Reason = fmt.Sprintf("%s did not finish within %s", op, in.env.host.cfg.stepTimeout)
		}
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		f.Kind, f.Reason = FaultCanceled, "context canceled"
	case errors.As(err, &exit):
		f.Kind = FaultExit
		f.Reason = fmt.Sprintf("guest exited with code %d", exit.ExitCode())
	default:
		f.Kind = FaultTrap
		f.Reason = firstLine(err.Error())
		if strings.Contains(string(in.sys.out), "out of memory") || strings.Contains(f.Reason, "out of memory") {
			f.Kind = FaultMemory
			f.Reason = fmt.Sprintf("memory limit of %d pages (%d MiB) exhausted", in.env.host.cfg.memoryLimitPages,
				in.env.host.cfg.memoryLimitPages/16)
		}
	}
	if f.Kind == FaultTrap || f.Kind == FaultExit || f.Kind == FaultMemory {
		if msg := guestPanic(string(in.sys.out)); msg != "" {
			f.Reason += ": " + msg
		}
	}
	in.dead = f
	return f
}

// guestPanic picks the first "panic:" or "fatal error:" line of a Go guest's
// stderr.
func guestPanic(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "runtime: ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// sliceMemory is the fallback linear memory when a reservation fails: a
// plain slice that grows by copying, as wazero's own.
type sliceMemory struct{ b []byte }

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.b)) {
		nb := make([]byte, size, size+size/4)
		copy(nb, m.b)
		m.b = nb
	}
	m.b = m.b[:size]
	return m.b
}

func (m *sliceMemory) Free() {}
