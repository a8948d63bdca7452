package pack

import (
	"testing"
	"time"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

func TestLimitsApply(t *testing.T) {
	base := trt.NewConfig().WithCompilationCacheDir("")
	tests := []struct {
		name string
		l    Limits
		want trt.Config
	}{
		{"zero keeps defaults", Limits{}, base},
		{"memory", Limits{MemoryPages: 7}, base.WithMemoryLimitPages(7)},
		{"all", Limits{MemoryPages: 7, StepTimeoutMS: 1500, OutputLimitBytes: 99, FuelPerStep: 5},
			base.WithMemoryLimitPages(7).WithStepTimeout(1500 * time.Millisecond).WithOutputLimitBytes(99).WithFuelPerStep(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Apply(base); got != tt.want {
				t.Fatalf("Apply = %+v, want %+v", got, tt.want)
			}
		})
	}
}
