package main

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

// hostFlags are the sandbox limits shared by commands that run guests.
type hostFlags struct {
	memoryPages uint32
	stepTimeout time.Duration
	outputLimit int
	fuel        uint64
}

func (h *hostFlags) register(fs *pflag.FlagSet) {
	fs.Uint32Var(&h.memoryPages, "memory-pages", trt.DefaultMemoryLimitPages, "linear memory limit per episode, in 64 KiB pages")
	fs.DurationVar(&h.stepTimeout, "step-timeout", trt.DefaultStepTimeout, "wall-clock limit of one guest call when --fuel is 0")
	fs.IntVar(&h.outputLimit, "output-limit", trt.DefaultOutputLimitBytes, "bytes an episode may write to stdout, stderr and the log")
	fs.Uint64Var(&h.fuel, "fuel", trt.DefaultFuelPerStep, "compute budget of each guest call (0: off, bounded by --step-timeout instead)")
}

func (h *hostFlags) config() trt.Config {
	return trt.NewConfig().WithMemoryLimitPages(h.memoryPages).WithStepTimeout(h.stepTimeout).
		WithOutputLimitBytes(h.outputLimit).WithFuelPerStep(h.fuel)
}

// over applies to base only the limits the user set on the command line, so
// that a pack's declared limits hold unless the user overrides them.
func (h *hostFlags) over(base trt.Config, fs *pflag.FlagSet) trt.Config {
	if fs.Changed("memory-pages") {
		base = base.WithMemoryLimitPages(h.memoryPages)
	}
	if fs.Changed("step-timeout") {
		base = base.WithStepTimeout(h.stepTimeout)
	}
	if fs.Changed("output-limit") {
		base = base.WithOutputLimitBytes(h.outputLimit)
	}
	if fs.Changed("fuel") {
		base = base.WithFuelPerStep(h.fuel)
	}
	return base
}

func (h *hostFlags) newHost(ctx context.Context) (*trt.Host, error) { return trt.New(ctx, h.config()) }
