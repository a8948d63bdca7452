package runtime

// Deterministic compute budgets. With Config.WithFuelPerStep, Load rewrites
// the module with wasmbin.InstrumentFuel, which makes the guest count its
// work in an exported global and trap when the count goes negative. Before
// each call into the guest the host stores the budget in that global; a
// trap that leaves it negative is a FaultBudget. The count is a pure
// function of the module and the call's inputs, so a step that runs out of
// budget runs out on every machine, under any load, and at replay; the
// wall-clock step timeout stays as a backstop for what fuel does not count
// (host functions, the module's start function).

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
	used   uint64
}

// meter instruments wasm for the host's budget. A module the pass cannot
// read runs unmetered rather than not at all; Env.Fuel reports it.
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
	in.refuel()
	return nil
}

// refuel gives the instance the full budget for its next guest call.
func (in *instance) refuel() {
	if in.fuel.global != nil {
		in.fuel.global.Set(in.env.fuel.perStep)
	}
}

// spent adds what the last guest call used to the instance's count.
func (in *instance) spent() {
	if in.fuel.global != nil {
		in.fuel.used += in.env.fuel.perStep - in.fuel.global.Get() // wraps to the overshoot when negative
	}
}

// outOfFuel reports whether the guest's last call trapped for want of
// fuel: the pass traps the moment fuel goes negative, and nothing else makes
// it negative.
func (in *instance) outOfFuel() bool {
	return in.fuel.global != nil && int64(in.fuel.global.Get()) < 0
}

func (in *instance) budgetReason() string {
	return fmt.Sprintf("compute budget of %d exhausted", in.env.fuel.perStep)
}
