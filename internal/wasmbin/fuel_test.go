package wasmbin

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
)

// opsWasm uses an instruction of every immediate shape the decoder knows;
// testdata/ops.wat says how to rebuild it.
//
//go:embed testdata/ops.wasm
var opsWasm []byte

// loopModule exports run(n i32) i32, which counts to n:
//
//	(func (param $n i32) (result i32) (local $i i32)
//	  block
//	    loop                                  ;; charge: 4
//	      local.get $i  local.get $n  i32.ge_u  br_if 1
//	      local.get $i  i32.const 1  i32.add  local.set $i
//	      br 0
//	    end
//	  end
//	  local.get $i)                           ;; entry charge: 2 (block, loop)
//
// so run(n) costs 2 + 4*(n+1) fuel: the entry, and n+1 passes through the
// loop header (the last one leaves through br_if).
var loopModule = module(
	[]byte{1, 1, 0x60, 1, 0x7f, 1, 0x7f},    // type 0: (i32) -> i32
	[]byte{3, 1, 0},                         // func 0: type 0
	[]byte{7, 1, 3, 'r', 'u', 'n', 0x00, 0}, // export "run" func 0
	codeSection([]byte{
		1, 1, 0x7f, // one i32 local
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 1, 0x20, 0, 0x4f, 0x0d, 1, // local.get 1, local.get 0, i32.ge_u, br_if 1
		0x20, 1, 0x41, 1, 0x6a, 0x21, 1, // i = i + 1
		0x0c, 0, // br 0
		0x0b, 0x0b, // end, end
		0x20, 1, 0x0b}), // local.get 1, end
)

// codeSection assembles a code section from function bodies (locals and
// expression).
func codeSection(bodies ...[]byte) []byte {
	s := appendU32([]byte{10}, uint32(len(bodies)))
	for _, b := range bodies {
		s = appendU32(s, uint32(len(b)))
		s = append(s, b...)
	}
	return s
}

func loopCost(n int64) int64 { return 2 + 4*(n+1) }

// fuelModule instantiates an instrumented module and returns it with its
// fuel global.
func fuelModule(t *testing.T, r wazero.Runtime, wasm []byte) (api.Module, api.MutableGlobal) {
	t.Helper()
	ctx := context.Background()
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate the instrumented module: %v", err)
	}
	g, ok := mod.ExportedGlobal(FuelExport).(api.MutableGlobal)
	if !ok {
		t.Fatalf("no mutable global exported as %s", FuelExport)
	}
	return mod, g
}

func TestFuelLoopBudget(t *testing.T) {
	out, info, err := InstrumentFuel(loopModule)
	if err != nil {
		t.Fatal(err)
	}
	if info != (FuelInfo{Global: 0, Functions: 1, Loops: 1}) {
		t.Errorf("info %+v, want global 0, 1 function, 1 loop", info)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, fuel := fuelModule(t, r, out)
	if got := int64(fuel.Get()); got != FuelUnmetered {
		t.Errorf("initial fuel %d, want FuelUnmetered", got)
	}
	run := mod.ExportedFunction("run")
	for _, n := range []int64{0, 1, 7, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			cost := loopCost(n)
			// The exact budget runs to completion and leaves 0.
			fuel.Set(uint64(cost))
			res, err := run.Call(ctx, uint64(n))
			if err != nil || int64(res[0]) != n {
				t.Fatalf("run(%d) with budget %d: %v, %v; want %d", n, cost, res, err, n)
			}
			if left := int64(fuel.Get()); left != 0 {
				t.Errorf("fuel left %d, want 0: the charge is not 2+4(n+1)", left)
			}
			// One less traps at the last loop header, and says so in
			// the global.
			fuel.Set(uint64(cost - 1))
			if _, err := run.Call(ctx, uint64(n)); err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("run(%d) with budget %d: %v, want an unreachable trap", n, cost-1, err)
			}
			if left := int64(fuel.Get()); left >= 0 {
				t.Errorf("fuel after exhaustion %d, want negative", left)
			}
		})
	}
}

// TestFuelBulkCharge checks the length charge of bulk instructions on
//
//	(func (param $n i32) (result i32)
//	  i32.const 0  i32.const 0  local.get $n  memory.fill
//	  local.get $n)
//
// whose entry charge is 6 and whose fill pays n>>4 more; the parameter
// must survive the charge's use of its scratch local.
func TestFuelBulkCharge(t *testing.T) {
	in := module(
		[]byte{1, 1, 0x60, 1, 0x7f, 1, 0x7f},
		[]byte{3, 1, 0},
		[]byte{5, 1, 0, 1},
		[]byte{7, 1, 4, 'f', 'i', 'l', 'l', 0x00, 0},
		codeSection([]byte{0, 0x41, 0, 0x41, 0, 0x20, 0, 0xfc, 11, 0, 0x20, 0, 0x0b}),
	)
	out, info, err := InstrumentFuel(in)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bulk != 1 {
		t.Errorf("info %+v, want 1 bulk instruction", info)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, fuel := fuelModule(t, r, out)
	for _, n := range []uint64{0, 15, 16, 65536} {
		cost := 6 + n>>4
		fuel.Set(cost)
		res, err := mod.ExportedFunction("fill").Call(ctx, n)
		if err != nil || res[0] != n || fuel.Get() != 0 {
			t.Errorf("fill(%d) with budget %d: %v, %v, fuel left %d; want %d and 0 left", n, cost, res, err, int64(fuel.Get()), n)
		}
		fuel.Set(cost - 1)
		if _, err := mod.ExportedFunction("fill").Call(ctx, n); err == nil {
			t.Errorf("fill(%d) with budget %d did not trap", n, cost-1)
		}
	}
}

func TestFuelOps(t *testing.T) {
	ctx := context.Background()
	out, info, err := InstrumentFuel(opsWasm)
	if err != nil {
		t.Fatal(err)
	}
	// One imported and two defined globals; 9 functions, of which 4
	// bounded and not exported ($double, $inc, $leaf, $mid) and so not
	// charged; one loop, 7 bulk instructions.
	if want := (FuelInfo{Global: 3, Functions: 5, Bounded: 4, Loops: 1, Bulk: 7}); info != want {
		t.Errorf("info %+v, want %+v", info, want)
	}
	features := api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall
	calls := []struct {
		fn   string
		arg  uint64
		cost int64 // exact fuel, -1 when not checked
	}{
		{"sum", 0, -1}, {"sum", 10, -1}, {"misc", 0, -1}, {"misc", 3, -1},
		{"simd", 5, -1}, {"atomics", 11, -1},
		// chain: entry [call, end] = 2, mid [call, call, i32.add, end]
		// = 4, leaf [i32.const, end] = 2, twice: $mid and $leaf are
		// bounded, not charged at entry, and their costs are added to
		// the run that calls them.
		{"chain", 0, 10},
	}
	run := func(wasm []byte, withFuel bool) []string {
		r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(features))
		defer r.Close(ctx)
		// env.g is an imported i32 const global: provide it with a
		// module that exports one.
		env := module(
			[]byte{6, 1, 0x7f, 0x00, 0x41, 42, 0x0b},
			[]byte{7, 1, 1, 'g', 0x03, 0},
		)
		if _, err := r.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env")); err != nil {
			t.Fatal(err)
		}
		mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatalf("instantiate: %v", err)
		}
		var fuel api.MutableGlobal
		if withFuel {
			fuel = mod.ExportedGlobal(FuelExport).(api.MutableGlobal)
		}
		var got []string
		for _, c := range calls {
			f := mod.ExportedFunction(c.fn)
			var params []uint64
			if len(f.Definition().ParamTypes()) == 1 {
				params = []uint64{c.arg}
			}
			const budget = 1 << 40
			if withFuel {
				fuel.Set(budget)
			}
			res, err := f.Call(ctx, params...)
			got = append(got, fmt.Sprintf("%s(%d) = %v, %v", c.fn, c.arg, res, err))
			if withFuel {
				used := budget - int64(fuel.Get())
				if used <= 0 || (c.cost >= 0 && used != c.cost) {
					t.Errorf("%s(%d) used %d fuel, want %d (or > 0 when unchecked)", c.fn, c.arg, used, c.cost)
				}
			}
		}
		return got
	}
	want := run(opsWasm, false)
	got := run(out, true)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("instrumented %s, want %s", got[i], want[i])
		}
	}
}

func TestInstrumentFuelAddsSections(t *testing.T) {
	// A module with neither a global nor an export section (and a custom
	// section and a data count where the new sections must go around).
	in := module(
		[]byte{1, 1, 0x60, 0, 0},
		[]byte{3, 1, 0},
		[]byte{0, 1, 'x', 'y'},
		[]byte{5, 1, 0, 1},
		[]byte{12, 0},
		codeSection([]byte{0, 0x03, 0x40, 0x0b, 0x0b}), // (func loop end)
	)
	out, info, err := InstrumentFuel(in)
	if err != nil {
		t.Fatal(err)
	}
	if info != (FuelInfo{Global: 0, Functions: 1, Loops: 1}) {
		t.Errorf("info %+v", info)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	cm, err := r.CompileModule(ctx, out)
	if err != nil {
		t.Fatalf("instrumented module does not compile: %v", err)
	}
	if _, ok := cm.ExportedFunctions()[FuelExport]; ok {
		t.Error("fuel exported as a function")
	}
	secs, err := splitSections(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []byte
	for _, s := range secs {
		ids = append(ids, s.id)
	}
	if want := []byte{1, 3, 0, 5, 6, 7, 12, 10}; !bytes.Equal(ids, want) {
		t.Errorf("sections %v, want %v", ids, want)
	}
}

func TestInstrumentFuelErrors(t *testing.T) {
	body := func(expr ...byte) []byte { return codeSection(append([]byte{0}, expr...)) } // no locals
	fn := [][]byte{{1, 1, 0x60, 0, 0}, {3, 1, 0}}
	withCode := func(code []byte) []byte { return module(append(fn, code)...) }
	instrumented, _, err := InstrumentFuel(loopModule)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"not wasm", []byte("hello world")},
		{"unknown opcode", withCode(body(0x27, 0x0b))},
		{"exception handling", withCode(body(0x06, 0x40, 0x0b, 0x0b))},
		{"GC prefix", withCode(body(0xfb, 0x00, 0x0b))},
		{"unknown 0xfc", withCode(body(0xfc, 18, 0x0b))},
		{"unknown 0xfd", withCode(body(0xfd, 0xff, 0x7f, 0x0b))},
		{"unknown 0xfe", withCode(body(0xfe, 0x05, 0x0b))},
		{"body ends inside a block", withCode(body(0x02, 0x40, 0x0b))},
		{"bytes after the final end", withCode(body(0x0b, 0x01))},
		{"truncated immediate", withCode(body(0x41))},
		{"memory64", module([]byte{5, 1, 0x04, 1})},
		{"GC type", module([]byte{1, 1, 0x5f, 0})},
		{"code without functions", module(codeSection([]byte{0, 0x0b}))},
		{"huge br_table", withCode(body(0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b))},
		{"bad value type", withCode(codeSection([]byte{1, 1, 0x55, 0x0b}))},
		{"body overruns the section", withCode([]byte{10, 1, 9, 0, 0x0b})},
		{"duplicate code section", module(fn[0], fn[1], body(0x0b), body(0x0b))},
		{"already instrumented", instrumented},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := InstrumentFuel(tc.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v, want ErrMalformed", err)
			}
		})
	}
}

// guest drives a Go environment module through the ABI directly with
// wazero, with wazero's default (deterministic) clock and random source.
type guest struct {
	mod  api.Module
	fuel api.MutableGlobal // nil without fuel
	used []int64           // fuel used by each call, with fuel
}

func newGuest(t *testing.T, ctx context.Context, rc wazero.RuntimeConfig, wasm []byte) *guest {
	t.Helper()
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	if _, err := r.NewHostModuleBuilder("terrarium").NewFunctionBuilder().
		WithFunc(func(context.Context, api.Module, uint32, uint32, uint32) {}).Export("log").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().
		WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{mod: mod}
	g.fuel, _ = mod.ExportedGlobal(FuelExport).(api.MutableGlobal)
	return g
}

// call makes one ABI request and returns "status reply".
func (g *guest) call(ctx context.Context, fn string, body []byte, params ...uint64) (string, error) {
	const budget = 1 << 50
	if g.fuel != nil {
		g.fuel.Set(budget)
	}
	if body != nil {
		res, err := g.mod.ExportedFunction("terrarium_buffer").Call(ctx, uint64(len(body)))
		if err != nil {
			return "", err
		}
		g.mod.Memory().Write(uint32(res[0]), body)
		params = append(params, uint64(len(body)))
	}
	st, err := g.mod.ExportedFunction(fn).Call(ctx, params...)
	if err != nil {
		return "", err
	}
	p, err := g.mod.ExportedFunction("terrarium_result_ptr").Call(ctx)
	if err != nil {
		return "", err
	}
	n, err := g.mod.ExportedFunction("terrarium_result_len").Call(ctx)
	if err != nil {
		return "", err
	}
	reply, _ := g.mod.Memory().Read(uint32(p[0]), uint32(n[0]))
	if g.fuel != nil {
		g.used = append(g.used, budget-int64(g.fuel.Get()))
	}
	return fmt.Sprintf("%d %s", int32(st[0]), reply), nil
}

// session is a fixed call sequence: spec, reset, three steps (one reading
// the clock and crypto/rand), score, oracle.
func (g *guest) session(t *testing.T, ctx context.Context) []string {
	t.Helper()
	step := func(name, args string) []byte {
		return fmt.Appendf(nil, `{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":%q,"arguments":%q}}]}`, name, args)
	}
	var out []string
	for _, c := range []struct {
		fn     string
		body   []byte
		params []uint64
	}{
		{"terrarium_spec", nil, nil},
		{"terrarium_reset", []byte{}, []uint64{7, 1}},
		{"terrarium_step", step("say", `{"text":"hello"}`), nil},
		{"terrarium_step", step("entropy", `{}`), nil},
		{"terrarium_step", step("say", `{"text":"again"}`), nil},
		{"terrarium_score", nil, nil},
		{"terrarium_oracle", nil, nil},
	} {
		r, err := g.call(ctx, c.fn, c.body, c.params...)
		if err != nil {
			t.Fatalf("%s: %v", c.fn, err)
		}
		out = append(out, r)
	}
	return out
}

var echoBuild struct {
	once sync.Once
	wasm []byte
	err  error
}

// echoWasm builds the runtime's Go test environment.
func echoWasm(t testing.TB) []byte {
	t.Helper()
	echoBuild.once.Do(func() {
		p, err := gobuild.Build(context.Background(), "../../runtime/testdata/echo")
		if err == nil {
			echoBuild.wasm, err = os.ReadFile(p)
		}
		echoBuild.err = err
	})
	if echoBuild.err != nil {
		t.Fatalf("build the echo env: %v", echoBuild.err)
	}
	return echoBuild.wasm
}

// TestFuelGoGuest runs a Go guest instrumented and not: the replies must be
// the same, and the fuel of every call the same across runs and across
// wazero's compiler and interpreter, which share nothing but the module.
func TestFuelGoGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go guest")
	}
	ctx := context.Background()
	wasm := echoWasm(t)
	out, info, err := InstrumentFuel(wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes -> %d bytes (+%.1f%%), %+v", len(wasm), len(out),
		100*float64(len(out)-len(wasm))/float64(len(wasm)), info)
	if info.Loops+info.Branches+info.Forward == 0 || info.Functions == 0 {
		t.Fatalf("nothing instrumented: %+v", info)
	}
	cache := wazero.NewCompilationCache()
	defer cache.Close(ctx)
	compiler := wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache)

	plain := newGuest(t, ctx, compiler, wasm).session(t, ctx)
	if !strings.HasPrefix(plain[2], `0 {"messages":[{"role":"tool","content":"{\"echo\":\"hello\",\"n\":1}"`) {
		t.Fatalf("say hello: %s", plain[2])
	}
	runs := []struct {
		name string
		rc   wazero.RuntimeConfig
	}{
		{"compiler", compiler},
		{"compiler again", compiler},
		{"interpreter", wazero.NewRuntimeConfigInterpreter()},
	}
	var first []int64
	for _, run := range runs {
		g := newGuest(t, ctx, run.rc, out)
		got := g.session(t, ctx)
		for i := range plain {
			if got[i] != plain[i] {
				t.Errorf("%s: call %d replied %.200s, uninstrumented %.200s", run.name, i, got[i], plain[i])
			}
		}
		t.Logf("%s: fuel per call %v", run.name, g.used)
		if first == nil {
			first = g.used
			continue
		}
		if fmt.Sprint(g.used) != fmt.Sprint(first) {
			t.Errorf("%s: fuel per call %v, first run %v", run.name, g.used, first)
		}
	}
}

func FuzzInstrumentFuel(f *testing.F) {
	f.Add(loopModule)
	f.Add(opsWasm)
	f.Add(sample)
	f.Add(dispatchModule(brDisp, setPC))
	f.Add(cyclesModule)
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	ctx := context.Background()
	features := api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(features))
	f.Cleanup(func() { r.Close(ctx) })
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := InstrumentFuel(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		cm, err := r.CompileModule(ctx, in)
		if err != nil {
			return // only valid input must give valid output
		}
		cm.Close(ctx)
		cm, err = r.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("valid input, invalid output: %v", err)
		}
		cm.Close(ctx)
	})
}

// BenchmarkInstrumentFuel rewrites the echo env (a 6 MB Go guest), the
// cost InstrumentFuel adds to every Load with fuel on.
func BenchmarkInstrumentFuel(b *testing.B) {
	wasm := echoWasm(b)
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, _, err := InstrumentFuel(wasm); err != nil {
			b.Fatal(err)
		}
	}
}

// dispatchBody is the body of a function in the shape Go's WebAssembly
// port gives every function that calls: run(n i32) i32 counts to n in a
// loop around a jump table, with $pc (local 1) the block to run and $i
// (local 2) the count:
//
//	block $exit
//	  loop $disp              ;; a dispatch loop: only br targets it
//	    block $b2 block $b1 block $b0
//	      local.get $pc
//	      br_table $b0 $b1 $b2 $exit
//	    end                   ;; pc 0: i = 0, jump to 1 (forward)
//	    i32.const 0  local.set $i
//	    i32.const 1  local.set $pc  br $disp
//	    end                   ;; pc 1: if i >= n, jump to 2 (forward)
//	    local.get $i  local.get $n  i32.ge_u
//	    if  i32.const 2  local.set $pc  br $disp  end
//	    i = i + 1             ;; then jump to 1 (backward)
//	    i32.const 1  local.set $pc  br $disp
//	    end                   ;; pc 2
//	    local.get $i  return
//	  end
//	end
//	i32.const -1
//
// The entry run passes through the dispatch loop's header (block, loop,
// 3 blocks, local.get, br_table: 7), and every jump costs the header's run
// (3 blocks, local.get, br_table: 5): run(n) costs 7 + 5(n+2), what a
// charge at the header would cost for the fall-in and every jump. The
// forward jumps subtract without a check: one that spends the budget
// traps at the next check, the backward jump's or the return's. back
// replaces the backward jump's "br $disp", and fwd0 the first forward
// jump's "local.set $pc".
func dispatchBody(back, fwd0 []byte) []byte {
	b := []byte{1, 2, 0x7f, // two i32 locals
		0x02, 0x40, 0x03, 0x40, // block $exit, loop $disp
		0x02, 0x40, 0x02, 0x40, 0x02, 0x40, // block $b2, $b1, $b0
		0x20, 1, 0x0e, 3, 0, 1, 2, 4, // local.get $pc, br_table 0 1 2 4
		0x0b,                      // end $b0
		0x41, 0, 0x21, 2, 0x41, 1} // i = 0, i32.const 1
	b = append(b, fwd0...)
	b = append(b, 0x0c, 2, // br $disp
		0x0b,                   // end $b1
		0x20, 2, 0x20, 0, 0x4f, // i >= n
		0x04, 0x40, 0x41, 2, 0x21, 1, 0x0c, 2, 0x0b, // if pc = 2, br $disp end
		0x20, 2, 0x41, 1, 0x6a, 0x21, 2, // i = i + 1
		0x41, 1, 0x21, 1) // i32.const 1, local.set $pc
	b = append(b, back...)
	return append(b, 0x0b, // end $b2
		0x20, 2, 0x0f, // local.get $i, return
		0x0b, 0x0b, // end $disp, end $exit
		0x41, 0x7f, 0x0b) // i32.const -1, end
}

// dispatchModule exports run, its body from dispatchBody.
func dispatchModule(back, fwd0 []byte) []byte {
	return module(
		[]byte{1, 1, 0x60, 1, 0x7f, 1, 0x7f},    // type 0: (i32) -> i32
		[]byte{3, 1, 0},                         // func 0: type 0
		[]byte{7, 1, 3, 'r', 'u', 'n', 0x00, 0}, // export "run" func 0
		codeSection(dispatchBody(back, fwd0)))
}

var (
	brDisp     = []byte{0x0c, 1}          // br $disp, from the end of pc 1
	setPC      = []byte{0x21, 1}          // local.set $pc
	brIfDisp   = []byte{0x41, 1, 0x0d, 1} // i32.const 1, br_if $disp
	setCounter = []byte{0x21, 2}          // local.set $i: not the dispatch's local
)

func dispatchCost(n int64) int64 { return 7 + 5*(n+2) }

// TestFuelDispatchLoop checks which branches to a loop are charged, and
// that a dispatch loop's forward jumps still cost the fuel of its header.
func TestFuelDispatchLoop(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want FuelInfo
		cost func(n int64) int64 // of run(n); nil: it never returns
	}{
		// The backward jump is charged at the branch, the two forward
		// jumps subtract unchecked, and the return checks.
		{"dispatch", dispatchModule(brDisp, setPC), FuelInfo{Functions: 1, Branches: 1, Forward: 2}, dispatchCost},
		// A br_if to the loop makes it an ordinary loop, charged at its
		// header ([block, loop] at entry, then the header's 5 at the
		// fall-in and every jump): the same fuel.
		{"br_if targets it", dispatchModule(brIfDisp, setPC), FuelInfo{Functions: 1, Loops: 1}, dispatchCost},
		// A jump that does not set the local the dispatch reads is
		// charged at the branch; $pc stays 0, so run loops forever.
		{"other local", dispatchModule(brDisp, setCounter), FuelInfo{Functions: 1, Branches: 2, Forward: 1}, nil},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, info, err := InstrumentFuel(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if info != tt.want {
				t.Errorf("info %+v, want %+v", info, tt.want)
			}
			r := wazero.NewRuntime(ctx)
			defer r.Close(ctx)
			mod, fuel := fuelModule(t, r, out)
			run := mod.ExportedFunction("run")
			if tt.cost == nil {
				fuel.Set(10_000)
				if _, err := run.Call(ctx, 5); err == nil || int64(fuel.Get()) >= 0 {
					t.Errorf("run(5): %v, fuel %d; want a trap, fuel negative", err, int64(fuel.Get()))
				}
				return
			}
			for _, n := range []int64{0, 1, 10} {
				cost := tt.cost(n)
				fuel.Set(uint64(cost))
				if res, err := run.Call(ctx, uint64(n)); err != nil || int64(res[0]) != n || fuel.Get() != 0 {
					t.Errorf("run(%d) with budget %d: %v, %v, %d left; want %d, 0 left", n, cost, res, err, int64(fuel.Get()), n)
				}
				fuel.Set(uint64(cost - 1))
				if _, err := run.Call(ctx, uint64(n)); err == nil || int64(fuel.Get()) >= 0 {
					t.Errorf("run(%d) with budget %d: %v, fuel %d; want a trap, fuel negative", n, cost-1, err, int64(fuel.Get()))
				}
			}
			// A count that would take billions of jumps runs out.
			fuel.Set(10_000)
			if _, err := run.Call(ctx, math.MaxUint32); err == nil || int64(fuel.Get()) >= 0 {
				t.Errorf("run(MaxUint32): %v, fuel %d; want a trap, fuel negative", err, int64(fuel.Get()))
			}
		})
	}
}

// cyclesModule exports functions that never return, each charged:
//
//	self      (func (result i32) call $self)
//	mutual    (func $a (result i32) call $b)  (func $b (result i32) call $a)
//	indirect  $c calls table[0] = $d, which calls table[1] = $c
//	tail      (func $tail (result i32) return_call $tail): no stack grows
//	spin      (func (result i32) loop call $leaf drop br 0 end i32.const 0)
//
// and $leaf (i32.const 1), bounded and not exported, is not charged.
var cyclesModule = module(
	[]byte{1, 1, 0x60, 0, 1, 0x7f},       // type 0: () -> i32
	[]byte{3, 8, 0, 0, 0, 0, 0, 0, 0, 0}, // 8 functions of type 0
	[]byte{4, 1, 0x70, 0, 2},             // table: 2 funcref
	[]byte{7, 5, 4, 's', 'e', 'l', 'f', 0, 0, // exports
		6, 'm', 'u', 't', 'u', 'a', 'l', 0, 1,
		8, 'i', 'n', 'd', 'i', 'r', 'e', 'c', 't', 0, 3,
		4, 't', 'a', 'i', 'l', 0, 5,
		4, 's', 'p', 'i', 'n', 0, 7},
	[]byte{9, 1, 0, 0x41, 0, 0x0b, 2, 4, 3}, // table[0] = $d, table[1] = $c
	codeSection(
		[]byte{0, 0x10, 0, 0x0b},                                            // 0 $self
		[]byte{0, 0x10, 2, 0x0b},                                            // 1 $a
		[]byte{0, 0x10, 1, 0x0b},                                            // 2 $b
		[]byte{0, 0x41, 0, 0x11, 0, 0, 0x0b},                                // 3 $c
		[]byte{0, 0x41, 1, 0x11, 0, 0, 0x0b},                                // 4 $d
		[]byte{0, 0x12, 5, 0x0b},                                            // 5 $tail
		[]byte{0, 0x41, 1, 0x0b},                                            // 6 $leaf
		[]byte{0, 0x03, 0x40, 0x10, 6, 0x1a, 0x0c, 0, 0x0b, 0x41, 0, 0x0b}), // 7 spin
)

// TestFuelCycles: recursion, mutual recursion, a cycle through
// call_indirect, endless tail calls and a loop calling an uncharged
// bounded function all run out of fuel, and run out at the same point
// every time.
func TestFuelCycles(t *testing.T) {
	out, info, err := InstrumentFuel(cyclesModule)
	if err != nil {
		t.Fatal(err)
	}
	if want := (FuelInfo{Functions: 7, Bounded: 1, Loops: 1}); info != want {
		t.Errorf("info %+v, want %+v", info, want)
	}
	ctx := context.Background()
	features := api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall
	for _, fn := range []string{"self", "mutual", "indirect", "tail", "spin"} {
		t.Run(fn, func(t *testing.T) {
			var left []int64
			for range 2 {
				r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(features))
				defer r.Close(ctx)
				mod, fuel := fuelModule(t, r, out)
				// Small enough to run out before the call stack does.
				fuel.Set(1000)
				_, err := mod.ExportedFunction(fn).Call(ctx)
				if err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Fatalf("%s: %v, want an unreachable trap", fn, err)
				}
				left = append(left, int64(fuel.Get()))
			}
			if left[0] >= 0 || left[0] != left[1] {
				t.Errorf("fuel after the traps %v, want the same negative value", left)
			}
		})
	}
}
