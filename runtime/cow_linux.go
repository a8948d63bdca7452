//go:build linux

package runtime

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Copy-on-write restore. Each instance's linear memory lives in its own
// mmap reservation (sized to the memory limit, reserving address space, not
// memory). The env's snapshot is written once to a memfd, the image; the
// first restore of an instance maps the image privately over the start of
// its memory, and every later restore drops the instance's private copies
// with madvise(MADV_DONTNEED), so the pages read from the image again. A
// restore then costs in proportion to the pages an episode touched, and
// untouched pages are shared by every instance through the page cache.
//
// Where the kernel can track written pages (dirty_linux.go), a restore
// instead copies back just the pages written since the last one, which
// keeps them mapped and saves the next episode a page fault per page.

const cowSupported = true

type cowImage struct {
	fd   int
	size int
}

func newCowImage(mem []byte) (*cowImage, error) {
	fd, err := unix.MemfdCreate("terrarium-snapshot", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	for off := 0; off < len(mem); {
		n, err := unix.Pwrite(fd, mem[off:], int64(off))
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("memfd write: %w", err)
		}
		off += n
	}
	return &cowImage{fd: fd, size: len(mem)}, nil
}

func (im *cowImage) close() { unix.Close(im.fd) }

// cowMemory implements experimental.LinearMemory.
type cowMemory struct {
	region  []byte
	mapped  bool         // the image is mapped over region[:image.size]
	tracked bool         // writes to region[:image.size] are tracked
	vec     []pageRegion // scratch for the tracker
	copied  int          // bytes the last reset copied back
	// reverts counts restores by revert; written[reverts%2] holds the
	// pages the current one found written, the other those of the one
	// before (one bit per page), from which revert tells the hot pages.
	reverts int
	written [2][]uint64
}

// dropRun is the length of a run of written pages from which a restore
// drops the pages (as madvise does) rather than copying them back: the
// memory goes back to the system and the next episode faults in only what
// it uses. Runs this long come from forks and from episodes that allocate
// far more than usual.
const dropRun = 1 << 20

func newCowMemory(max uint64) (*cowMemory, error) {
	if max == 0 || max > 1<<34 {
		return nil, fmt.Errorf("memory reservation of %d bytes", max)
	}
	r, err := unix.Mmap(-1, 0, int(max), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserve memory: %w", err)
	}
	return &cowMemory{region: r}, nil
}

// Reallocate implements experimental.LinearMemory: the reservation never
// moves, so growing is only a longer slice.
func (m *cowMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.region)) {
		return nil
	}
	return m.region[:size:size]
}

// Free implements experimental.LinearMemory.
func (m *cowMemory) Free() {
	if m.region != nil {
		unix.Munmap(m.region)
		m.region = nil
	}
}

// reset returns region[:im.size] to the image's bytes, which snap holds.
// track says whether to track written pages when the image is first mapped.
func (m *cowMemory) reset(im *cowImage, snap []byte, track bool) error {
	if im.size > len(m.region) || len(snap) != im.size {
		return fmt.Errorf("image of %d bytes, snapshot of %d, reservation of %d", im.size, len(snap), len(m.region))
	}
	img := m.region[:im.size]
	m.copied = 0
	if !m.mapped {
		_, _, errno := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&m.region[0])), uintptr(im.size),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED, uintptr(im.fd), 0)
		if errno != 0 {
			return fmt.Errorf("map image: %w", errno)
		}
		m.mapped = true
		if t, err := dirtyTracking(); track && err == nil && t.register(img) == nil {
			m.tracked = true
			m.vec = make([]pageRegion, 64)
		}
		return nil
	}
	if m.tracked {
		if err := m.revert(img, snap); err == nil {
			return nil
		}
		// The pages' state is unknown now: drop them all and stop
		// tracking this instance.
		m.tracked = false
	}
	return unix.Madvise(img, unix.MADV_DONTNEED)
}

// revert copies back the written pages of img from snap and protects them
// again. Long runs are dropped instead (see dropRun).
//
// Protecting costs a walk of the page table over the range plus a TLB
// flush per call, and the flush an interrupt of every other core running
// the process. So nearby runs are protected together: one call per
// cluster of runs less than protectGap apart (measured in BenchmarkRestore:
// per run is slowest, the whole image next). And hot pages, found written
// by this restore and the one before, are not protected at all: an
// unprotected page reads as written to every later scan, so it is copied
// back at every restore whether the episode wrote it or not, which costs
// less than protecting it again when episodes write it anyway (a Go
// guest's stack, allocator and runtime state). Every hotReset restores,
// all written pages are protected again, so that pages no longer written
// leave the hot set.
func (m *cowMemory) revert(img, snap []byte) error {
	t := tracker
	var errs []error
	m.reverts++
	full := m.reverts%hotReset == 0
	npages := (len(img) + pageSize - 1) / pageSize
	for i := range m.written {
		if len(m.written[i]) < (npages+63)/64 {
			m.written[i] = make([]uint64, (npages+63)/64)
		}
	}
	cur, prev := m.written[m.reverts%2], m.written[(m.reverts+1)%2]
	clear(cur)
	lo, hi := -1, -1 // the cluster being gathered
	flush := func() {
		if lo >= 0 {
			if err := t.protect(img[lo:hi]); err != nil {
				errs = append(errs, err)
			}
		}
		lo, hi = -1, -1
	}
	protect := func(off, end int) {
		if lo >= 0 && off-hi < protectGap {
			hi = end
			return
		}
		flush()
		lo, hi = off, end
	}
	err := t.written(img, m.vec, func(off, end int) {
		if end-off >= dropRun {
			// Dropped pages are unmapped, and protecting them installs
			// the markers that track them again.
			if err := unix.Madvise(img[off:end], unix.MADV_DONTNEED); err != nil {
				errs = append(errs, err)
			}
			protect(off, end)
			return
		}
		m.copied += copy(img[off:end], snap[off:end])
		run := -1 // start of the run of pages to protect
		for p := off / pageSize; p < (end+pageSize-1)/pageSize; p++ {
			hot := !full && prev[p/64]&(1<<(p%64)) != 0
			if !full {
				cur[p/64] |= 1 << (p % 64)
			}
			switch {
			case hot && run >= 0:
				protect(run*pageSize, p*pageSize)
				run = -1
			case !hot && run < 0:
				run = p
			}
		}
		if run >= 0 {
			protect(run*pageSize, end)
		}
	})
	flush()
	return errors.Join(append(errs, err)...)
}

// hotReset is how often (in restores of one instance) revert protects
// every written page, hot ones included.
const hotReset = 64

// protectGap is the distance below which revert protects two runs of
// written pages with one call.
const protectGap = 512 * pageSize

// copyWritten makes in, an instance in the snapshot's state, a copy of
// src by copying only the pages src wrote since its own restore. It
// reports false, having changed nothing, when the pages are not tracked or
// src's memory grew.
func (in *instance) copyWritten(src *instance) bool {
	e := in.env
	if in.cow == nil || !in.cow.tracked || src.cow == nil || !src.cow.tracked || e.image == nil ||
		src.mod.Memory().Size() != uint32(e.image.size) || in.mod.Memory().Size() != uint32(e.image.size) {
		return false
	}
	rng, err := src.sys.rng.MarshalBinary()
	if err != nil || in.sys.rng.UnmarshalBinary(rng) != nil {
		return false
	}
	from, to := src.cow.region[:e.image.size], in.cow.region[:e.image.size]
	if err := tracker.written(from, src.cow.vec, func(off, end int) { copy(to[off:end], from[off:end]) }); err != nil {
		return false // the caller's full copy overwrites the partial one

	}
	for i, g := range src.globals {
		in.globals[i].Set(g.Get())
	}
	in.sys.clock = src.sys.clock
	return true
}
