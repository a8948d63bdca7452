package plugins

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/trainer"
)

// BenchmarkAct measures one Act round trip over a real gRPC connection
// (in-process, loopback) by batch size; obs/s shows what batching buys.
func BenchmarkAct(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			p := connectTB(b, &scripted{act: echoEpisode})
			obs := make([]Observation, n)
			for i := range obs {
				obs[i] = fullObservation(i)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.Act(ctx, obs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}

// BenchmarkBatcher has 1 or 32 episodes act concurrently through a Batcher
// over a real gRPC connection: unbatched (one observation per call), with
// the defaults, and never waiting (negative window).
func BenchmarkBatcher(b *testing.B) {
	for _, agents := range []int{1, 32} {
		for _, c := range []struct {
			name string
			cfg  BatchConfig
		}{
			{"unbatched", BatchConfig{MaxBatch: 1, Window: -1}},
			{"default", BatchConfig{}},
			{"nowait", BatchConfig{Window: -1}},
		} {
			b.Run(fmt.Sprintf("agents=%d/%s", agents, c.name), func(b *testing.B) {
				bt, err := NewBatcher(context.Background(), connectTB(b, &scripted{act: echoEpisode}), c.cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer bt.Close()
				obs := fullObservation(0)
				var wg sync.WaitGroup
				per := b.N/agents + 1
				b.ResetTimer()
				for a := 0; a < agents; a++ {
					ag, _ := bt.Start(context.Background(), trainer.EpisodeInfo{Index: a, Tools: obs.Tools})
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < per; i++ {
							if _, err := ag.Act(context.Background(), obs.Messages); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(per*agents)/b.Elapsed().Seconds(), "acts/s")
			})
		}
	}
}
