package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/sdk/envtest"
)

var cmdEnv = &Command{
	Name:  "env",
	Short: "test and create environments",
	Sub:   []*Command{cmdEnvTest, cmdEnvNew},
}

var envTestFlags struct {
	tasks int
	seed  uint64
	host  hostFlags
}

var cmdEnvTest = &Command{
	Name:  "test",
	Usage: "env test PATH [--tasks N] [--seed S]",
	Short: "check that an environment conforms to the ABI and contract",
	Long: `Env test loads the environment at PATH (an env directory or a .wasm module)
and checks: the ABI version and spec; that tool schemas are valid JSON
Schemas; that reset and step are deterministic (same seed, same bytes); that
malformed actions (bad JSON, unknown tools, wrong types, oversized arguments)
get tool errors, not faults; that the oracle reaches reward 1; and that a
null policy scores 0. It prints one line per check and exits 1 on any
failure. Go tests can run the same checks with sdk/envtest.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.IntVar(&envTestFlags.tasks, "tasks", 20, "tasks to check with each policy")
		fs.Uint64Var(&envTestFlags.seed, "seed", 1, "base seed")
		envTestFlags.host.register(fs)
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one environment path")
		}
		host, err := envTestFlags.host.newHost(ctx)
		if err != nil {
			return err
		}
		defer host.Close(ctx)
		rep, err := envtest.Check(ctx, inv.Args[0], envtest.Options{Tasks: envTestFlags.tasks, Seed: envTestFlags.seed, Host: host})
		if err != nil {
			return err
		}
		rep.Write(inv.Stdout)
		if !rep.OK() {
			return silentError{}
		}
		return nil
	},
}
