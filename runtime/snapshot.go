package runtime

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// snapshot is an instance's complete mutable state right after
// instantiation (and configuration): linear memory, mutable globals and the
// host-side clock and random state. Every episode starts from it, whether
// its instance is fresh or recycled, so the two are indistinguishable.
type snapshot struct {
	mem     []byte
	globals []uint64
	clock   int64
	rng     []byte
}

func (in *instance) resolveGlobals() error {
	in.globals = in.globals[:0]
	for _, name := range in.env.globalNames {
		g, ok := in.mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			return fmt.Errorf("global export %s missing or immutable", name)
		}
		in.globals = append(in.globals, g)
	}
	return nil
}

func (in *instance) capture() (*snapshot, error) {
	mem := in.mod.Memory()
	view, ok := mem.Read(0, mem.Size())
	if !ok {
		return nil, fmt.Errorf("snapshot: memory unreadable")
	}
	s := &snapshot{mem: append([]byte(nil), view...), clock: in.sys.clock}
	for _, g := range in.globals {
		s.globals = append(s.globals, g.Get())
	}
	rng, err := in.sys.rng.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	s.rng = rng
	return s, nil
}

// restore puts the instance back into the snapshot's state. It reports
// false when it cannot (the instance faulted or its memory grew), and the
// instance must then be discarded: memory cannot shrink, and a larger memory
// would change when a later allocation fails.
func (in *instance) restore(s *snapshot) bool {
	if in.dead != nil || in.mod == nil {
		return false
	}
	mem := in.mod.Memory()
	if size := int(mem.Size()); size > len(s.mem) {
		return false
	} else if size < len(s.mem) { // a fresh instance, before its warm-up
		if _, ok := mem.Grow(uint32((len(s.mem) - size) / 65536)); !ok || int(mem.Size()) != len(s.mem) {
			return false
		}
	}
	if in.cow != nil && s == in.env.snap && in.env.image != nil {
		if err := in.cow.reset(in.env.image, s.mem, !in.env.untracked); err != nil {
			return false
		}
		in.env.stats.pages.Add(int64(in.cow.copied / pageSize))
	} else {
		view, ok := mem.Read(0, mem.Size())
		if !ok {
			return false
		}
		copy(view, s.mem)
	}
	for i, g := range in.globals {
		g.Set(s.globals[i])
	}
	sys := in.sys
	sys.clock = s.clock
	if err := sys.rng.UnmarshalBinary(s.rng); err != nil {
		return false
	}
	sys.out = sys.out[:0]
	sys.flooded = false
	return true
}

// poolSize bounds the idle instances an Env keeps.
func poolSize() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// acquire returns an instance in the snapshot's state: a recycled one when
// available, else a fresh one.
func (e *Env) acquire(ctx context.Context) (*instance, error) {
	if e.pool != nil {
		select {
		case in := <-e.pool:
			return in, nil
		default:
		}
	}
	// A fresh instance is restored to the snapshot right away, which holds
	// the configuration's effect: configuring it first would be wasted.
	in, err := e.instantiate(ctx, e.snap == nil)
	if err != nil {
		return nil, err
	}
	e.stats.instantiated.Add(1)
	if e.snap != nil && !in.restore(e.snap) {
		in.close(ctx)
		return nil, fmt.Errorf("%w: a fresh instance does not match the snapshot (memory %d bytes, snapshot %d)",
			ErrInvalidModule, in.mod.Memory().Size(), len(e.snap.mem))
	}
	return in, nil
}

// release recycles a healthy instance or closes it.
func (e *Env) release(ctx context.Context, in *instance) {
	in.sys.backend.reset(nil) // backends are granted per episode
	// Instances made before the copy-on-write image existed (the one the
	// snapshot was taken from) are not kept: every pooled instance should
	// restore the cheap way.
	if e.pool != nil && (e.image == nil || in.cow != nil) && e.timedRestore(in) {
		select {
		case e.pool <- in:
			e.stats.recycled.Add(1)
			return
		default:
		}
	}
	if e.pool != nil && in.dead == nil && in.mod != nil {
		e.stats.discarded.Add(1)
	}
	in.close(ctx)
}

// timedRestore restores in to the snapshot, counting and timing it.
func (e *Env) timedRestore(in *instance) bool {
	start := time.Now()
	if !in.restore(e.snap) {
		return false
	}
	e.stats.restores.Add(1)
	e.stats.restoreNanos.Add(int64(time.Since(start)))
	return true
}

// Stats counts what became of an Env's instances.
type Stats struct {
	// Instantiated counts instances made from the module (fresh).
	Instantiated int64
	// Recycled counts instances restored to the snapshot and kept.
	Recycled int64
	// Discarded counts healthy instances not kept, mostly because the
	// episode grew guest memory past the snapshot's size.
	Discarded int64
	// Restores counts instances restored to the snapshot after an episode
	// (most are then recycled), and RestoreTime is the time they took:
	// RestoreTime/Restores is what a reset costs, apart from the env's own
	// reset call.
	Restores    int64
	RestoreTime time.Duration
	// PagesRestored counts the written pages that restores copied back from
	// the snapshot, where the kernel tracks written pages (Linux 6.7 and
	// later): the work a reset does grows with it.
	PagesRestored int64
	// SnapshotBytes is the size of the snapshot's linear memory (0 without
	// a snapshot): the memory every instance starts from, over which each
	// restore asks the kernel for written pages.
	SnapshotBytes int64
}

const pageSize = 4096

type envStats struct {
	instantiated, recycled, discarded atomic.Int64
	restores, restoreNanos, pages     atomic.Int64
}

// Stats reports how the env's instances were made and reused: many fresh
// instances mean slow starts (see RATIONALE.md on snapshots).
func (e *Env) Stats() Stats {
	return Stats{
		Instantiated:  e.stats.instantiated.Load(),
		Recycled:      e.stats.recycled.Load(),
		Discarded:     e.stats.discarded.Load(),
		Restores:      e.stats.restores.Load(),
		RestoreTime:   time.Duration(e.stats.restoreNanos.Load()),
		PagesRestored: e.stats.pages.Load(),
		SnapshotBytes: e.snapBytes(),
	}
}

func (e *Env) snapBytes() int64 {
	if e.snap == nil {
		return 0
	}
	return int64(len(e.snap.mem))
}
