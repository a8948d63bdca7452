//go:build linux

package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// memoryDiff names the first page where an instance's memory differs from
// the snapshot, or returns "".
func memoryDiff(in *instance, snap []byte) string {
	mem, _ := in.mod.Memory().Read(0, in.mod.Memory().Size())
	if len(mem) != len(snap) {
		return fmt.Sprintf("memory is %d bytes, snapshot %d", len(mem), len(snap))
	}
	for off := 0; off < len(mem); off += pageSize {
		if !bytes.Equal(mem[off:off+pageSize], snap[off:off+pageSize]) {
			return fmt.Sprintf("page %d differs", off/pageSize)
		}
	}
	return ""
}

// Restores that copy back the tracked written pages must leave memory
// exactly as the snapshot, whatever was written: guest writes, host writes,
// pages never touched before, runs long enough to be dropped rather than
// copied, the same pages again after each kind of restore, and hot pages
// (left unprotected) that a later round does not write.
func TestTrackedRestoreIsExact(t *testing.T) {
	if _, err := dirtyTracking(); err != nil {
		t.Fatalf("Linux 6.7 or later should track written pages: %v", err)
	}
	ctx := context.Background()
	env := benchEnv(t, WithTestCache(NewConfig()), EchoWasm(t))
	ep, _, err := env.Start(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	in := ep.in
	if in.cow == nil || !in.cow.tracked {
		t.Fatal("the instance's written pages are not tracked")
	}
	size := len(env.snap.mem)
	pages := size / pageSize
	step, _ := json.Marshal(sayHello)
	cases := []struct {
		name  string
		write func(mem []byte, round int)
	}{
		{"guest episode", func([]byte, int) {
			if _, err := in.request(ctx, "reset", in.fns.reset, nil, 3, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := in.request(ctx, "step", in.fns.step, step); err != nil {
				t.Fatal(err)
			}
		}},
		{"scattered pages", func(mem []byte, round int) {
			for p := round; p < pages; p += 37 {
				mem[p*pageSize+round*13%pageSize] ^= 0x5a
			}
		}},
		{"first and last byte", func(mem []byte, _ int) {
			mem[0]++
			mem[size-1]++
		}},
		{"long run", func(mem []byte, round int) { // dropped, not copied
			start := (round * 7 % (pages / 2)) * pageSize
			for i := start; i < start+dropRun+3*pageSize && i < size; i += 512 {
				mem[i] = byte(i + round)
			}
		}},
		{"read then write", func(mem []byte, round int) {
			var sum byte
			for p := 1; p < pages; p += 5 {
				sum += mem[p*pageSize]
			}
			for p := 1; p < pages; p += 10 {
				mem[p*pageSize+1] = sum + byte(round)
			}
		}},
	}
	// Enough rounds for pages to turn hot (written by two restores in a
	// row, then left unprotected and copied back at every restore) and
	// for a hotReset to protect them all again.
	for round := 0; round < hotReset/len(cases)+3; round++ {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%d", c.name, round), func(t *testing.T) {
				mem, _ := in.mod.Memory().Read(0, in.mod.Memory().Size())
				c.write(mem, round)
				if !in.restore(env.snap) {
					t.Fatal("restore failed")
				}
				if !in.cow.tracked {
					t.Fatal("tracking was given up")
				}
				if d := memoryDiff(in, env.snap.mem); d != "" {
					t.Fatalf("after restore: %s", d)
				}
			})
		}
	}
}

// A fork copies only its parent's written pages: its memory must equal the
// parent's byte for byte.
func TestForkCopiesWrittenPagesExactly(t *testing.T) {
	ctx := context.Background()
	env := benchEnv(t, WithTestCache(NewConfig()), EchoWasm(t))
	parent, _, err := env.Start(ctx, 9, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close(ctx)
	if _, err := parent.Step(ctx, sayHello); err != nil {
		t.Fatal(err)
	}
	fork, err := parent.Fork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer fork.Close(ctx)
	if !fork.in.cow.tracked {
		t.Fatal("the fork's pages are not tracked")
	}
	pm, _ := parent.in.mod.Memory().Read(0, parent.in.mod.Memory().Size())
	if d := memoryDiff(fork.in, pm); d != "" {
		t.Fatalf("fork: %s", d)
	}
	for i, g := range parent.in.globals {
		if got := fork.in.globals[i].Get(); got != g.Get() {
			t.Errorf("global %d: fork %d, parent %d", i, got, g.Get())
		}
	}
}

// Env.Stats counts restores and the pages they copied back, and reports
// the snapshot's size.
func TestStatsCountRestores(t *testing.T) {
	ctx := context.Background()
	env := benchEnv(t, WithTestCache(NewConfig()), EchoWasm(t))
	var mem uint32
	for i := 0; i < 3; i++ {
		ep, _, err := env.Start(ctx, uint64(i), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ep.Step(ctx, sayHello); err != nil {
			t.Fatal(err)
		}
		mem = ep.in.mod.Memory().Size()
		ep.Close(ctx)
	}
	st := env.Stats()
	if st.Restores < 3 || st.Recycled < 3 || st.RestoreTime <= 0 {
		t.Errorf("stats %+v: want 3 restores and recycled instances, with their time", st)
	}
	if st.PagesRestored < st.Restores {
		t.Errorf("stats %+v: every episode writes pages, so every restore copies some back", st)
	}
	if st.SnapshotBytes != int64(mem) || mem == 0 {
		t.Errorf("SnapshotBytes %d, want the instances' memory size %d", st.SnapshotBytes, mem)
	}
}
