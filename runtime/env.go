package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/wasmbin"
)

// Source is an environment to load: a module and, for runners such as the
// JavaScript one, a configuration blob handed to terrarium_configure.
type Source struct {
	// Name locates the module in error messages, usually its file path.
	Name string
	// Wasm is the module's binary.
	Wasm []byte
	// Config, when not nil, is passed to the guest's terrarium_configure
	// export before anything else; the module must export it.
	Config []byte
}

// Env is a loaded environment: a compiled module and its spec. It is safe
// for concurrent use; each Start makes an independent episode.
type Env struct {
	host      *Host
	name      string
	compiled  wazero.CompiledModule
	config    []byte
	spec      abi.Spec
	sha       string
	configSHA string
	hasOracle bool

	globalNames []string       // exported mutable globals, nil without snapshots
	snap        *snapshot      // post-initialization state, nil without snapshots
	image       *cowImage      // snap's memory for copy-on-write restore, nil when copying
	untracked   bool           // restore by madvise even where written pages can be tracked (tests)
	pool        chan *instance // idle instances in the snapshot's state
	fuel        envFuel        // compute budget (fuel.go)
	stats       envStats
}

// LoadFile reads and loads a module file.
func (h *Host) LoadFile(ctx context.Context, path string) (*Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return h.Load(ctx, Source{Name: path, Wasm: b})
}

// signature is a function type: parameter and result types.
type signature struct{ params, results []api.ValueType }

func (s signature) String() string {
	names := func(ts []api.ValueType) string {
		n := make([]string, len(ts))
		for i, t := range ts {
			n[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(n, ", ") + ")"
	}
	return names(s.params) + " -> " + names(s.results)
}

func (s signature) matches(def api.FunctionDefinition) bool {
	return slices.Equal(def.ParamTypes(), s.params) && slices.Equal(def.ResultTypes(), s.results)
}

const (
	tI32 = api.ValueTypeI32
	tI64 = api.ValueTypeI64
)

// The exact types matter, not just their number: a reset taking its seed as
// i32 would silently drop the seed's high bits.
var requiredExports = map[string]signature{
	abi.ExportABIVersion: {nil, []api.ValueType{tI32}},
	abi.ExportBuffer:     {[]api.ValueType{tI32}, []api.ValueType{tI32}},
	abi.ExportSpec:       {nil, []api.ValueType{tI32}},
	abi.ExportReset:      {[]api.ValueType{tI64, tI32, tI32}, []api.ValueType{tI32}},
	abi.ExportStep:       {[]api.ValueType{tI32}, []api.ValueType{tI32}},
	abi.ExportScore:      {nil, []api.ValueType{tI32}},
	abi.ExportResultPtr:  {nil, []api.ValueType{tI32}},
	abi.ExportResultLen:  {nil, []api.ValueType{tI32}},
}

var optionalExports = map[string]signature{
	"_initialize":       {nil, nil}, // a WASI reactor's initializer
	abi.ExportConfigure: {[]api.ValueType{tI32}, []api.ValueType{tI32}},
	abi.ExportOracle:    {nil, []api.ValueType{tI32}},
}

// Load compiles a module, checks that it speaks ABI v1, and reads its spec.
// Errors name the module and wrap ErrInvalidModule when the module itself is
// at fault.
func (h *Host) Load(ctx context.Context, src Source) (*Env, error) {
	name := src.Name
	if name == "" {
		name = "module"
	}
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("load %s: %w: %s", name, ErrInvalidModule, fmt.Sprintf(format, args...))
	}
	if !bytes.HasPrefix(src.Wasm, []byte("\x00asm")) {
		return nil, invalid("not a WebAssembly module (bad magic bytes)")
	}
	// Export the module's mutable globals so that instances can be
	// snapshotted and restored; a module this cannot rewrite still runs,
	// with a fresh instance per episode.
	fuel, metered := h.meter(name, src.Wasm)
	if fuel.err != nil && !h.cfg.checksContext() {
		return nil, fmt.Errorf("load %s: %w: %s (run it with fuel off, bounded by the step timeout instead)",
			name, ErrInvalidModule, fuel.err)
	}
	wasm, globalNames, rerr := wasmbin.ExportGlobals(metered)
	if rerr != nil {
		wasm, globalNames = metered, nil
	}
	// Go's linker splits data into tens of thousands of segments, and
	// wazero keeps per-segment records in every instance: joining them
	// makes instances smaller and faster to make. Memory contents are the
	// same either way, so a module this cannot read is used as it is.
	if joined, _, _, err := wasmbin.MergeDataSegments(wasm); err == nil {
		wasm = joined
	}
	compiled, err := h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, invalid("%s", firstLine(err.Error()))
	}
	fail := func(err error) (*Env, error) {
		compiled.Close(ctx)
		return nil, err
	}
	exports := compiled.ExportedFunctions()
	check := func(fname string, want signature) error {
		def := exports[fname]
		if !want.matches(def) {
			return invalid("export %s has type %s, want %s",
				fname, signature{def.ParamTypes(), def.ResultTypes()}, want)
		}
		return nil
	}
	// Sorted, so that the same module always gets the same message.
	for _, fname := range slices.Sorted(maps.Keys(requiredExports)) {
		shape := requiredExports[fname]
		if exports[fname] == nil {
			if _, cmd := exports["_start"]; cmd && exports["_initialize"] == nil {
				return fail(invalid("missing export %s: the module is a WASI command (exports _start); build it as a reactor (Go: -buildmode=c-shared)", fname))
			}
			return fail(invalid("missing export %s", fname))
		}
		if err := check(fname, shape); err != nil {
			return fail(err)
		}
	}
	for _, fname := range slices.Sorted(maps.Keys(optionalExports)) {
		shape := optionalExports[fname]
		if exports[fname] != nil {
			if err := check(fname, shape); err != nil {
				return fail(err)
			}
		}
	}
	if len(compiled.ImportedMemories()) > 0 {
		return fail(invalid("the module imports its memory; it must define and export its own (C: do not link with --import-memory)"))
	}
	if len(compiled.ExportedMemories()) == 0 {
		return fail(invalid("the module exports no memory"))
	}
	for _, imp := range compiled.ImportedFunctions() {
		mod, fn, _ := imp.Import()
		if mod != "wasi_snapshot_preview1" && mod != abi.ImportModule {
			return fail(invalid("imports %s.%s: only wasi_snapshot_preview1 and %s functions are provided", mod, fn, abi.ImportModule))
		}
		if mod == abi.ImportModule && fn != abi.ImportLog && fn != abi.ImportBackendCall && fn != abi.ImportBackendResult {
			return fail(invalid("imports %s.%s, which ABI v%d does not provide", mod, fn, abi.Version))
		}
		// Checked here so that a bad import is an invalid module, not a
		// link failure reported as a fault of the probe instance.
		have, ok := h.rt.Module(mod).ExportedFunctionDefinitions()[fn]
		if !ok {
			return fail(invalid("imports %s.%s, which the host does not provide", mod, fn))
		}
		if got := (signature{imp.ParamTypes(), imp.ResultTypes()}); !got.matches(have) {
			return fail(invalid("imports %s.%s with type %s, want %s", mod, fn, got, signature{have.ParamTypes(), have.ResultTypes()}))
		}
	}
	if src.Config != nil && exports[abi.ExportConfigure] == nil {
		return fail(invalid("a configuration was given but the module does not export %s", abi.ExportConfigure))
	}
	sum := sha256.Sum256(src.Wasm)
	e := &Env{host: h, name: name, compiled: compiled, config: src.Config,
		sha: hex.EncodeToString(sum[:]), hasOracle: exports[abi.ExportOracle] != nil,
		globalNames: globalNames, fuel: fuel}
	if src.Config != nil {
		cs := sha256.Sum256(src.Config)
		e.configSHA = hex.EncodeToString(cs[:])
	}

	// The first instance is probed for the ABI version and spec, then warmed
	// up with one reset (so that one-time work such as compiling tool
	// schemas and growing the heap happens before the snapshot), then
	// snapshotted. Every episode starts from that snapshot.
	inst, err := e.instantiate(ctx, true)
	if err != nil {
		return fail(fmt.Errorf("load %s: %w", name, err))
	}
	st, err := inst.call(ctx, "abi version", inst.fns.version)
	if err != nil {
		return fail(fmt.Errorf("load %s: %w", name, err))
	}
	if int32(st) != abi.Version {
		inst.close(ctx)
		return fail(invalid("ABI version %d, this host speaks version %d", int32(st), abi.Version))
	}
	reply, err := inst.request(ctx, "spec", inst.fns.spec, nil)
	if err != nil {
		return fail(fmt.Errorf("load %s: %w", name, err))
	}
	if err := strictUnmarshal(reply, &e.spec); err != nil {
		inst.close(ctx)
		return fail(invalid("spec reply: %s", err))
	}
	if err := validateSpec(e.spec); err != nil {
		inst.close(ctx)
		return fail(invalid("spec: %s", err))
	}
	if globalNames != nil {
		inst.sys.reseed(0, 0)
		if _, err := inst.request(ctx, "reset", inst.fns.reset, nil, 0, 0); err == nil {
			e.snap, err = inst.capture()
			if err != nil {
				inst.close(ctx)
				return fail(fmt.Errorf("load %s: %w", name, err))
			}
			if h.cfg.reuse {
				e.pool = make(chan *instance, poolSize())
			}
			if cowSupported {
				// Without an image, restore copies the snapshot instead.
				e.image, _ = newCowImage(e.snap.mem)
			}
		}
		// A warm-up that fails leaves the env without snapshots: every
		// episode then instantiates afresh, and reports the failure itself.
	}
	e.release(ctx, inst)
	return e, nil
}

func validateSpec(s abi.Spec) error {
	switch {
	case s.Name == "":
		return fmt.Errorf("name is empty")
	case strings.ContainsAny(s.Name, " \t\n/\\"):
		return fmt.Errorf("name %q contains a space or slash", s.Name)
	case s.Version == "":
		return fmt.Errorf("version is empty")
	case s.Tasks <= 0:
		return fmt.Errorf("tasks is %d, want at least 1", s.Tasks)
	case s.MaxTurns < 0:
		return fmt.Errorf("max_turns is negative")
	}
	return validateBackends(s.Backends) // backend.go
}

// strictUnmarshal decodes exactly one JSON value: json.Unmarshal refuses
// trailing data, and is several times faster than a json.Decoder on the
// small replies of a step (BenchmarkStep/guess-wat).
func strictUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Spec returns the environment's spec.
func (e *Env) Spec() abi.Spec { return e.spec }

// Name returns the name the env was loaded under (usually its path).
func (e *Env) Name() string { return e.name }

// SHA256 returns the hex SHA-256 of the module's bytes.
func (e *Env) SHA256() string { return e.sha }

// ConfigSHA256 returns the hex SHA-256 of the configuration blob, or "" when
// there is none.
func (e *Env) ConfigSHA256() string { return e.configSHA }

// HasOracle reports whether the module exports a reference solution.
func (e *Env) HasOracle() bool { return e.hasOracle }

// Close releases the compiled module and idle instances. Episodes still
// open keep working.
func (e *Env) Close(ctx context.Context) error {
	for e.pool != nil {
		select {
		case in := <-e.pool:
			in.close(ctx)
			continue
		default:
		}
		break
	}
	if e.image != nil {
		e.image.close()
	}
	return e.compiled.Close(ctx)
}
