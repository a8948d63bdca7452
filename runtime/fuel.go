package runtime

// Deterministic compute budgets. With Config.WithFuelPerStep, Load rewrites
// the module with wasmbin.InstrumentFuel, which makes the guest count its
// work in an exported global and trap when the count goes negative. Before
// each call into the guest the host stores the budget in that global; a
// trap that leaves it negative is a FaultBudget. The count is a pure
// function of the module and the call's inputs, so a step that runs out of
// budget runs out on every machine, under any load, and at replay. Host
// functions cost no fuel; they are the host's own and bounded.

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/terrarium-rl/terrarium/internal/wasmbin"
)

// envFuel is an Env's metering: the budget of each guest call, 0 when the
// env runs unmetered, and why an env asked to be metered is not.
type envFuel struct {
	perStep uint64
	err     error
}

// instanceFuel is an instance's fuel global and the fuel it used so far.
type instanceFuel struct {
	global api.MutableGlobal // nil when unmetered
	budget uint64            // of the current call
	used   uint64
}

// meter instruments wasm for the host's budget. A module the pass cannot
// read runs unmetered when the host also checks the context (a forced
// configuration); otherwise Load refuses it, since nothing would bound it.
func (h *Host) meter(name string, wasm []byte) (envFuel, []byte) {
	n := h.cfg.fuelPerStep
	if n == 0 {
		return envFuel{}, wasm
	}
	if n > wasmbin.FuelUnmetered {
		n = wasmbin.FuelUnmetered
	}
	out, _, err := wasmbin.InstrumentFuel(wasm)
	if err != nil {
		return envFuel{err: fmt.Errorf("fuel %s: %w", name, err)}, wasm
	}
	return envFuel{perStep: n}, out
}

// Fuel returns the compute budget of each call into this env's guests (a
// reset, a step, a score, an oracle), or 0 when the env runs unmetered. err
// is not nil when fuel was asked for (Config.WithFuelPerStep) but the module
// could not be instrumented (it uses instructions the pass does not know);
// the env then runs with the step timeout alone.
func (e *Env) Fuel() (perStep uint64, err error) { return e.fuel.perStep, e.fuel.err }

// resolveFuel finds a new instance's fuel global and gives it a budget.
func (in *instance) resolveFuel() error {
	if in.env.fuel.perStep == 0 {
		return nil
	}
	g, ok := in.mod.ExportedGlobal(wasmbin.FuelExport).(api.MutableGlobal)
	if !ok {
		return fmt.Errorf("fuel export %s missing or immutable", wasmbin.FuelExport)
	}
	in.fuel.global = g
	in.refuel("")
	return nil
}

// InitFuelFactor multiplies the per-step budget for an instance's one-time
// calls: its initializer (a Go guest's runtime and package init) and its
// configuration (a JavaScript runner loading its script).
const InitFuelFactor = 10

// refuel gives the instance the full budget for its next guest call, op.
func (in *instance) refuel(op string) {
	if in.fuel.global != nil {
		in.fuel.budget = in.env.fuel.perStep
		if op == "initialize" || op == "configure" {
			in.fuel.budget = min(in.fuel.budget*InitFuelFactor, wasmbin.FuelUnmetered)
		}
		in.fuel.global.Set(in.fuel.budget)
	}
}

// spent adds what the last guest call used to the instance's count.
func (in *instance) spent() {
	if in.fuel.global != nil {
		in.fuel.used += in.fuel.budget - in.fuel.global.Get() // wraps to the overshoot when negative
	}
}

// outOfFuel reports whether the guest's last call trapped for want of
// fuel: only spending the budget makes fuel negative, and the guest then
// traps at its next check, before the call can return (a guest trap in
// between counts as running out: the budget was spent).
func (in *instance) outOfFuel() bool {
	return in.fuel.global != nil && int64(in.fuel.global.Get()) < 0
}

func (in *instance) budgetReason() string {
	return fmt.Sprintf("compute budget of %d exhausted", in.fuel.budget)
}
