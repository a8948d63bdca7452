package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
)

// episodeSys is the host state an episode's guest can observe through WASI
// and the terrarium host module: a virtual clock, a seeded random source and
// the captured output. Nothing here reads host state, so a guest's view of
// the world is a function of the module, the seed and the actions alone.
type episodeSys struct {
	// clock counts virtual nanoseconds. Each read advances it by a fixed
	// tick and a sleep advances it by the time asked, so time moves but
	// never depends on the machine.
	clock int64
	rng   *rand.ChaCha8

	out       []byte
	outLimit  int
	outDrops  int
	flooded   bool
	cancelMu  sync.Mutex
	cancelRun context.CancelFunc

	backend backendState // backend.go
}

const (
	// virtualEpoch is what the guest's wall clock reads at instantiation:
	// 2025-01-01T00:00:00Z.
	virtualEpoch = int64(1735689600) * 1e9
	clockTick    = 1000 // 1 µs per clock read
)

func rngKey(label string, words ...uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte("terrarium/rng/v1/"))
	h.Write([]byte(label))
	var b [8]byte
	for _, w := range words {
		binary.LittleEndian.PutUint64(b[:], w)
		h.Write(b[:])
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

func newEpisodeSys(outLimit int) *episodeSys {
	return &episodeSys{rng: rand.NewChaCha8(rngKey("init")), outLimit: outLimit}
}

// reseed points the random source at the episode's own stream. Called at
// reset, so that the state reached by instantiation (whatever it consumed)
// never decides what the episode sees.
func (s *episodeSys) reseed(seed uint64, task int) {
	s.rng = rand.NewChaCha8(rngKey("episode", seed, uint64(task)))
}

// Read implements io.Reader for WASI random_get.
func (s *episodeSys) Read(p []byte) (int, error) { return s.rng.Read(p) }

func (s *episodeSys) walltime() (sec int64, nsec int32) {
	s.clock += clockTick
	t := virtualEpoch + s.clock
	return t / 1e9, int32(t % 1e9)
}

func (s *episodeSys) nanotime() int64 {
	s.clock += clockTick
	return s.clock
}

func (s *episodeSys) nanosleep(ns int64) {
	if ns > 0 {
		s.clock += ns
	}
}

func (s *episodeSys) osyield() {}

// setCancel records how to stop the guest call in progress, so that an
// output flood can stop a guest that ignores write errors.
func (s *episodeSys) setCancel(c context.CancelFunc) {
	s.cancelMu.Lock()
	s.cancelRun = c
	s.cancelMu.Unlock()
}

func (s *episodeSys) write(p []byte) (int, error) {
	if s.flooded {
		return 0, fmt.Errorf("output limit of %d bytes exceeded", s.outLimit)
	}
	room := s.outLimit - len(s.out)
	if len(p) > room {
		s.out = append(s.out, p[:max(room, 0)]...)
		s.flooded = true
		s.cancelMu.Lock()
		if s.cancelRun != nil {
			s.cancelRun()
		}
		s.cancelMu.Unlock()
		// Stop the guest now: a guest that ignores write errors would
		// otherwise loop until its budget or deadline. wazero turns a
		// panic in a host function into an error from the call.
		panic(fmt.Errorf("output limit of %d bytes exceeded", s.outLimit))
	}
	s.out = append(s.out, p...)
	return len(p), nil
}

// outWriter adapts episodeSys for stdout and stderr.
type outWriter struct{ s *episodeSys }

func (w outWriter) Write(p []byte) (int, error) { return w.s.write(p) }

// tail returns the last n bytes of captured output.
func (s *episodeSys) tail(n int) string {
	if len(s.out) <= n {
		return string(s.out)
	}
	return "…" + string(s.out[len(s.out)-n:])
}
