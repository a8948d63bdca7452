package runtime

import "time"

// Config configures a Host. It is immutable: each With method returns a
// copy, and never fails; values are checked by New.
//
//	cfg := runtime.NewConfig().WithMemoryLimitPages(1024).WithStepTimeout(2 * time.Second)
//	host, err := runtime.New(ctx, cfg)
type Config struct {
	memoryLimitPages uint32
	stepTimeout      time.Duration
	outputLimitBytes int
	replyLimitBytes  int
	requestLimit     int
	cacheDir         string
	cacheSet         bool
	reuse            bool
	fuelPerStep      uint64
	// closeOnDone overrides whether wazero checks the context while a guest
	// runs: 0 means on exactly when fuel is off; tests force it either way
	// (fuel_export_test.go).
	closeOnDone int8
}

// Defaults.
const (
	DefaultMemoryLimitPages = 4096 // 256 MiB of linear memory per episode
	DefaultStepTimeout      = 10 * time.Second
	DefaultOutputLimitBytes = 256 << 10
	DefaultReplyLimitBytes  = 8 << 20
	DefaultRequestLimit     = 4 << 20
	// DefaultFuelPerStep is the budget to pass to WithFuelPerStep when an
	// env states none: about 80x the heaviest call of the shipped envs'
	// oracle episodes (12M fuel, an ASTRA step) and 20x their heaviest
	// one-time call (50M, the JavaScript runner loading its script); see
	// TestDefaultFuelCoversShippedEnvs. A guest looping forever uses it up
	// in well under a second (BenchmarkFuel/exhaust).
	DefaultFuelPerStep = 1_000_000_000
)

// NewConfig returns the default configuration.
func NewConfig() Config {
	return Config{
		memoryLimitPages: DefaultMemoryLimitPages,
		stepTimeout:      DefaultStepTimeout,
		outputLimitBytes: DefaultOutputLimitBytes,
		replyLimitBytes:  DefaultReplyLimitBytes,
		requestLimit:     DefaultRequestLimit,
		reuse:            true,
		fuelPerStep:      DefaultFuelPerStep,
	}
}

// WithInstanceReuse sets whether episodes start from a snapshot of an
// initialized instance (restoring a finished episode's instance to it)
// instead of instantiating the module anew. Default true. Both start every
// episode from the same state, so outcomes are identical; false exists as a
// baseline for benchmarks and tests.
func (c Config) WithInstanceReuse(on bool) Config { c.reuse = on; return c }

// WithMemoryLimitPages bounds each episode's linear memory, in 64 KiB pages.
// Default DefaultMemoryLimitPages. A guest that grows past it fails its
// allocation; a Go guest then dies with "out of memory", a fault.
func (c Config) WithMemoryLimitPages(n uint32) Config { c.memoryLimitPages = n; return c }

// WithStepTimeout bounds the wall-clock time of each call into a guest
// (instantiation, reset, step, score, oracle) when fuel is off
// (WithFuelPerStep(0)). Default DefaultStepTimeout. A guest still running at
// the deadline is stopped and its episode ends with a timeout fault. Being
// wall-clock, it is not part of an episode's deterministic outcome; with
// fuel on, the budget bounds every call instead.
func (c Config) WithStepTimeout(d time.Duration) Config { c.stepTimeout = d; return c }

// WithOutputLimitBytes bounds what an episode may write to stdout, stderr
// and the log host function together. Default DefaultOutputLimitBytes.
// Writing past it ends the episode with an output fault.
func (c Config) WithOutputLimitBytes(n int) Config { c.outputLimitBytes = n; return c }

// WithReplyLimitBytes bounds one reply of a guest. Default
// DefaultReplyLimitBytes; a larger reply is a protocol fault.
func (c Config) WithReplyLimitBytes(n int) Config { c.replyLimitBytes = n; return c }

// WithRequestLimitBytes bounds one request (an action) sent to a guest.
// Default DefaultRequestLimit; a larger action is refused with
// ErrRequestTooLarge before entering the guest.
func (c Config) WithRequestLimitBytes(n int) Config { c.requestLimit = n; return c }

// WithFuelPerStep sets the compute budget of each call into a guest (its
// initialization, a reset, a step, a score, an oracle), in fuel units.
// Default DefaultFuelPerStep; 0 turns metering off. Load instruments the
// module to count its own work (one charge per function call and loop
// iteration, weighted by the code it runs straight through; see
// internal/wasmbin), and a call that uses up its budget ends the episode
// with a FaultBudget. Unlike the step timeout, the outcome does not depend
// on the machine or its load: it replays identically.
//
// With fuel on, fuel is what stops a runaway guest, and the wall-clock step
// timeout is not enforced while a guest runs: wazero's interruption check
// costs 2-4x on every step of a Go guest (RATIONALE.md). A module the
// instrumentation cannot read is refused at Load; run it with fuel off,
// which bounds it by the step timeout instead.
func (c Config) WithFuelPerStep(n uint64) Config { c.fuelPerStep = n; return c }

// WithCompilationCacheDir keeps compiled modules in dir across processes.
// The default is a "terrarium/wazero" folder in the user's cache directory
// when one exists; "" disables the on-disk cache.
func (c Config) WithCompilationCacheDir(dir string) Config {
	c.cacheDir, c.cacheSet = dir, true
	return c
}

// checksContext reports whether wazero checks the context while a guest
// runs, which is what lets the step timeout stop it.
func (c Config) checksContext() bool {
	return c.closeOnDone > 0 || c.closeOnDone == 0 && c.fuelPerStep == 0
}
