package runtime

import (
	"context"
	"encoding/json"
	"testing"
)

// restoreModes are the ways an instance can be restored, side by side:
// copying back the written pages the kernel tracked (the default where
// supported), dropping them with madvise so they fault in again from the
// copy-on-write image, and copying the whole snapshot.
var restoreModes = []struct {
	name           string
	noCOW, noTrack bool
}{
	{"tracked", false, false},
	{"madvise", false, true},
	{"copy", true, true},
}

func setRestoreMode(b *testing.B, env *Env, noCOW, noTrack bool) {
	if noCOW && env.image != nil {
		env.image.close()
		env.image = nil
	}
	if !noCOW && env.image == nil {
		b.Fatal("no copy-on-write image on this platform")
	}
	env.untracked = noTrack
	if _, err := dirtyTracking(); err != nil && !noTrack {
		b.Fatal(err)
	}
}

// BenchmarkStartClose measures a whole episode start and end (restore or
// instantiate, then reset, one step) of the echo env, for each restore mode
// and instantiating afresh.
func BenchmarkStartClose(b *testing.B) {
	ctx := context.Background()
	type mode struct {
		name                 string
		cfg                  Config
		noCOW, noTrack, busy bool
	}
	modes := []mode{{"instantiate", NewConfig().WithInstanceReuse(false), true, true, false}}
	for _, m := range restoreModes {
		modes = append(modes, mode{"restore-" + m.name, NewConfig(), m.noCOW, m.noTrack, false})
	}
	// With another goroutine of the process running on the other core,
	// changing page protections costs a TLB shootdown to that core.
	for _, m := range restoreModes[:2] {
		modes = append(modes, mode{"restore-" + m.name + "-busy", NewConfig(), m.noCOW, m.noTrack, true})
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			env := benchEnv(b, WithTestCache(m.cfg), EchoWasm(b))
			setRestoreMode(b, env, m.noCOW, m.noTrack)
			if m.busy {
				defer spin()()
			}
			for i := 0; b.Loop(); i++ {
				ep, _, err := env.Start(ctx, uint64(i), i%4)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ep.Step(ctx, sayHello); err != nil {
					b.Fatal(err)
				}
				ep.Close(ctx)
			}
			if st := env.Stats(); st.Restores > 0 {
				b.ReportMetric(float64(st.RestoreTime.Microseconds())/float64(st.Restores), "restore-us/op")
				b.ReportMetric(float64(st.PagesRestored)/float64(st.Restores), "pages/restore")
			}
		})
	}
}

// BenchmarkRestore isolates restoring a used instance to the snapshot.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	for _, m := range restoreModes {
		b.Run(m.name, func(b *testing.B) {
			env := benchEnv(b, WithTestCache(NewConfig()), EchoWasm(b))
			setRestoreMode(b, env, m.noCOW, m.noTrack)
			ep, _, err := env.Start(ctx, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			in := ep.in
			step, _ := json.Marshal(sayHello)
			for b.Loop() {
				b.StopTimer()
				if _, err := in.request(ctx, "reset", in.fns.reset, nil, 1, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := in.request(ctx, "step", in.fns.step, step); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if !in.restore(env.snap) {
					b.Fatal("restore failed")
				}
			}
			b.ReportMetric(float64(env.stats.pages.Load())/float64(b.N), "pages/op")
		})
	}
}

// spin keeps a goroutine busy until the returned function is called.
func spin() (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	return func() { close(done) }
}
