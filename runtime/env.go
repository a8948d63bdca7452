package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/terrarium-rl/terrarium/abi"
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
}

// LoadFile reads and loads a module file.
func (h *Host) LoadFile(ctx context.Context, path string) (*Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return h.Load(ctx, Source{Name: path, Wasm: b})
}

var requiredExports = map[string][2]int{ // name -> (params, results)
	abi.ExportABIVersion: {0, 1},
	abi.ExportBuffer:     {1, 1},
	abi.ExportSpec:       {0, 1},
	abi.ExportReset:      {3, 1},
	abi.ExportStep:       {1, 1},
	abi.ExportScore:      {0, 1},
	abi.ExportResultPtr:  {0, 1},
	abi.ExportResultLen:  {0, 1},
}

var optionalExports = map[string][2]int{
	abi.ExportConfigure: {1, 1},
	abi.ExportOracle:    {0, 1},
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
	compiled, err := h.rt.CompileModule(ctx, src.Wasm)
	if err != nil {
		return nil, invalid("%s", firstLine(err.Error()))
	}
	fail := func(err error) (*Env, error) {
		compiled.Close(ctx)
		return nil, err
	}
	exports := compiled.ExportedFunctions()
	check := func(fname string, shape [2]int) error {
		def := exports[fname]
		if len(def.ParamTypes()) != shape[0] || len(def.ResultTypes()) != shape[1] {
			return invalid("export %s has signature %v -> %v, want %d params and %d results",
				fname, def.ParamTypes(), def.ResultTypes(), shape[0], shape[1])
		}
		return nil
	}
	for fname, shape := range requiredExports {
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
	for fname, shape := range optionalExports {
		if exports[fname] != nil {
			if err := check(fname, shape); err != nil {
				return fail(err)
			}
		}
	}
	if len(compiled.ExportedMemories()) == 0 {
		return fail(invalid("the module exports no memory"))
	}
	for _, imp := range compiled.ImportedFunctions() {
		mod, fn, _ := imp.Import()
		if mod != "wasi_snapshot_preview1" && mod != abi.ImportModule {
			return fail(invalid("imports %s.%s: only wasi_snapshot_preview1 and %s functions are provided", mod, fn, abi.ImportModule))
		}
		if mod == abi.ImportModule && fn != abi.ImportLog {
			return fail(invalid("imports %s.%s, which ABI v%d does not provide", mod, fn, abi.Version))
		}
	}
	if src.Config != nil && exports[abi.ExportConfigure] == nil {
		return fail(invalid("a configuration was given but the module does not export %s", abi.ExportConfigure))
	}
	sum := sha256.Sum256(src.Wasm)
	e := &Env{host: h, name: name, compiled: compiled, config: src.Config,
		sha: hex.EncodeToString(sum[:]), hasOracle: exports[abi.ExportOracle] != nil}
	if src.Config != nil {
		cs := sha256.Sum256(src.Config)
		e.configSHA = hex.EncodeToString(cs[:])
	}

	// A probe instance checks the ABI version and reads the spec.
	inst, err := e.instantiate(ctx)
	if err != nil {
		return fail(fmt.Errorf("load %s: %w", name, err))
	}
	defer inst.close(ctx)
	st, err := inst.call(ctx, "abi version", inst.fns.version)
	if err != nil {
		return fail(fmt.Errorf("load %s: %w", name, err))
	}
	if int32(st) != abi.Version {
		return fail(invalid("ABI version %d, this host speaks version %d", int32(st), abi.Version))
	}
	reply, err := inst.request(ctx, "spec", inst.fns.spec, nil)
	if err != nil {
		return fail(fmt.Errorf("load %s: %w", name, err))
	}
	if err := strictUnmarshal(reply, &e.spec); err != nil {
		return fail(invalid("spec reply: %s", err))
	}
	if err := validateSpec(e.spec); err != nil {
		return fail(invalid("spec: %s", err))
	}
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
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

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

// Close releases the compiled module. Episodes still open keep working.
func (e *Env) Close(ctx context.Context) error { return e.compiled.Close(ctx) }
