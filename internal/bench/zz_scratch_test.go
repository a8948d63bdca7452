package bench

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

func TestScratchScale(t *testing.T) {
	ctx := context.Background()
	p, _ := gobuild.Build(ctx, "echo/wasm")
	b, _ := os.ReadFile(p)
	h, _ := trt.New(ctx, trt.NewConfig())
	env, err := h.Load(ctx, trt.Source{Name: "echo", Wasm: b})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{1, 2} {
		f, _ := os.Create("/tmp/cpu-c" + string(rune('0'+c)) + ".out")
		pprof.StartCPUProfile(f)
		t.Logf("spinner cores %.2f", availableCores(100*time.Millisecond))
		c0 := cpuTime()
		sum, err := trainer.Rollout(ctx, env, trainer.OraclePolicy(), trainer.Options{Episodes: 2000, Concurrency: c}, func(*trainer.Trajectory) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		pprof.StopCPUProfile()
		f.Close()
		t.Logf("c=%d %.0f eps/s cpu %.2f cores faults/ep %.0f", c, sum.EpisodesPerSecond(), (cpuTime()-c0).Seconds()/sum.Elapsed.Seconds(), 0.0)
	}
}
