package pack

import (
	"time"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

// Apply returns cfg with the pack's limits in place of the host defaults;
// zero fields leave cfg as it is.
//
// A caller that also takes limits from the user (command-line flags) applies
// them after, so the user has the last word.
func (l Limits) Apply(cfg trt.Config) trt.Config {
	if l.MemoryPages > 0 {
		cfg = cfg.WithMemoryLimitPages(l.MemoryPages)
	}
	if l.StepTimeoutMS > 0 {
		cfg = cfg.WithStepTimeout(time.Duration(l.StepTimeoutMS) * time.Millisecond)
	}
	if l.OutputLimitBytes > 0 {
		cfg = cfg.WithOutputLimitBytes(l.OutputLimitBytes)
	}
	if l.FuelPerStep > 0 {
		cfg = cfg.WithFuelPerStep(l.FuelPerStep)
	}
	return cfg
}
