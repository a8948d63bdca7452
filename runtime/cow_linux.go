//go:build linux

package runtime

import (
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
	region []byte
	mapped bool // the image is mapped over region[:image.size]
}

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

// reset returns region[:im.size] to the image's bytes.
func (m *cowMemory) reset(im *cowImage) error {
	if im.size > len(m.region) {
		return fmt.Errorf("image of %d bytes exceeds the reservation", im.size)
	}
	if !m.mapped {
		_, _, errno := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&m.region[0])), uintptr(im.size),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED, uintptr(im.fd), 0)
		if errno != 0 {
			return fmt.Errorf("map image: %w", errno)
		}
		m.mapped = true
		return nil
	}
	return unix.Madvise(m.region[:im.size], unix.MADV_DONTNEED)
}
