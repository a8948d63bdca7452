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
	noCloseOnDone    bool // benchmarks only: see fuel_export_test.go
}

// Defaults.
const (
	DefaultMemoryLimitPages = 4096 // 256 MiB of linear memory per episode
	DefaultStepTimeout      = 10 * time.Second
	DefaultOutputLimitBytes = 256 << 10
	DefaultReplyLimitBytes  = 8 << 20
	DefaultRequestLimit     = 4 << 20
	// DefaultFuelPerStep is the budget to pass to WithFuelPerStep when an
	// env states none: about 170x the heaviest call of the shipped envs'
	// oracle episodes (12M fuel, an ASTRA step), and 40x their heaviest
	// one-time call (50M, the JavaScript runner loading its script); see
	// TestDefaultFuelCoversShippedEnvs. Metering stays off unless asked for.
	DefaultFuelPerStep = 2_000_000_000
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
// (instantiation, reset, step, score, oracle). Default DefaultStepTimeout.
// A guest still running at the deadline is stopped and its episode ends
// with a timeout fault. Being wall-clock, it is a backstop against runaway
// guests, not part of an episode's deterministic outcome.
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

// WithFuelPerStep sets the compute budget of each call into a guest (a
// reset, a step, a score, an oracle), in fuel units; 0, the default, turns
// metering off. Load instruments the module to count its own work (one
// charge per function call and loop iteration, weighted by the code it runs
// straight through; see internal/wasmbin), and a call that uses up its
// budget ends the episode with a FaultBudget. Unlike the step timeout, the
// outcome does not depend on the machine or its load: it replays
// identically. DefaultFuelPerStep suits the shipped environments. A module
// the instrumentation cannot read runs unmetered; Env.Fuel says so.
func (c Config) WithFuelPerStep(n uint64) Config { c.fuelPerStep = n; return c }

// WithCompilationCacheDir keeps compiled modules in dir across processes.
// The default is a "terrarium/wazero" folder in the user's cache directory
// when one exists; "" disables the on-disk cache.
func (c Config) WithCompilationCacheDir(dir string) Config {
	c.cacheDir, c.cacheSet = dir, true
	return c
}
