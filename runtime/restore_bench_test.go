package runtime

import (
	"context"
	"encoding/json"
	"testing"
)

// BenchmarkStartClose measures a whole episode start and end (restore or
// instantiate, then reset) of the echo env, side by side: copy-on-write
// restore, restore by copying the snapshot, and instantiating afresh.
func BenchmarkStartClose(b *testing.B) {
	ctx := context.Background()
	modes := []struct {
		name  string
		cfg   Config
		noCOW bool
	}{
		{"cow-restore", NewConfig(), false},
		{"copy-restore", NewConfig(), true},
		{"instantiate", NewConfig().WithInstanceReuse(false), true},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			env := benchEnv(b, WithTestCache(m.cfg), EchoWasm(b))
			if m.noCOW && env.image != nil {
				env.image.close()
				env.image = nil
			}
			if !m.noCOW && env.image == nil {
				b.Fatal("no copy-on-write image on this platform")
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
		})
	}
}

// BenchmarkRestore isolates restoring a used instance to the snapshot.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	for _, cow := range []bool{true, false} {
		name := map[bool]string{true: "cow", false: "copy"}[cow]
		b.Run(name, func(b *testing.B) {
			env := benchEnv(b, WithTestCache(NewConfig()), EchoWasm(b))
			if !cow && env.image != nil {
				env.image.close()
				env.image = nil
			}
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
		})
	}
}
