package runtime

// Test hooks into the fuel machinery for the external tests and benchmarks
// (package runtime_test).

import "context"

// FuelUsed returns the fuel the episode's instance used in all its guest
// calls so far; tests compare differences of it.
func FuelUsed(ep *Episode) uint64 { return ep.in.fuel.used }

// WithCloseOnContextDone forces whether wazero checks the context while a
// guest runs (by default it does exactly when fuel is off), for the
// benchmark asking what that check costs once fuel bounds the guest.
func WithCloseOnContextDone(c Config, on bool) Config {
	c.closeOnDone = -1
	if on {
		c.closeOnDone = 1
	}
	return c
}

// ColdFuel returns the fuel a fresh instance of env uses to be configured
// and to make its first reset: the calls Load makes before it takes the
// snapshot, which are the heaviest an env makes (schemas compile, scripts
// load, heaps grow).
func ColdFuel(ctx context.Context, env *Env) (configure, reset uint64, err error) {
	in, err := env.instantiate(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	defer in.close(ctx)
	configure = in.fuel.used
	in.sys.reseed(0, 0)
	if _, err := in.request(ctx, "reset", in.fns.reset, nil, 0, 0); err != nil {
		return 0, 0, err
	}
	return configure, in.fuel.used - configure, nil
}

// ResetFuel makes a reset as Env.Start does, on an instance in the
// snapshot's state, and returns the fuel it used.
func ResetFuel(ctx context.Context, env *Env, seed uint64, task int) (uint64, error) {
	in, err := env.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer env.release(ctx, in)
	before := in.fuel.used
	in.sys.reseed(seed, task)
	if _, err := in.request(ctx, "reset", in.fns.reset, nil, seed, uint64(uint32(int32(task)))); err != nil {
		return 0, err
	}
	return in.fuel.used - before, nil
}
