//go:build linux

package runtime

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Dirty-page tracking for restores (Linux 6.7 and later).
//
// Each instance's memory is registered with a userfaultfd in asynchronous
// write-protect mode: the kernel write-protects the pages and, on the first
// write to one, simply lifts the protection instead of stopping the thread.
// The PAGEMAP_SCAN ioctl on /proc/self/pagemap then lists the pages written
// since they were last protected, and can protect them again. A restore
// copies back only those pages from the snapshot and re-protects them, so
// it costs in proportion to the pages the episode wrote and takes no page
// faults of its own: the pages stay mapped. The alternative it replaces,
// madvise(MADV_DONTNEED), dropped the written pages and made the next
// episode fault each one in again from the image, which costs several times
// more on a virtual machine (measured in BenchmarkRestore and
// BenchmarkStartClose).
//
// Kernels without these features (or processes not allowed a userfaultfd)
// fall back to madvise; behaviour is the same, only slower.

const (
	uffdAPI                = 0xaa
	uffdioAPI              = 0xc018aa3f // _IOWR(0xaa, 0x3f, struct uffdio_api)
	uffdioRegister         = 0xc020aa00 // _IOWR(0xaa, 0x00, struct uffdio_register)
	uffdioWriteprotect     = 0xc018aa06 // _IOWR(0xaa, 0x06, struct uffdio_writeprotect)
	uffdUserModeOnly       = 1
	uffdFeatureWPShmem     = 1 << 12
	uffdFeatureWPAsync     = 1 << 15
	uffdRegisterModeWP     = 1 << 1
	uffdWriteprotectModeWP = 1 << 0

	pagemapScan      = 0xc0606610 // _IOWR('f', 16, struct pm_scan_arg)
	pmScanWPMatching = 1 << 0
	pmScanCheckAsync = 1 << 1
	pageIsWritten    = 1 << 1
)

// pmScanArg is struct pm_scan_arg of linux/fs.h.
type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages uint64
	categoryInverted, categoryMask, categoryAnyofMask       uint64
	returnMask                                              uint64
}

// pageRegion is struct page_region of linux/fs.h.
type pageRegion struct{ start, end, categories uint64 }

// pageTracker holds the process's userfaultfd and pagemap descriptors; one
// pair serves every instance.
type pageTracker struct{ uffd, pagemap int }

var (
	trackerOnce sync.Once
	tracker     *pageTracker
	trackerErr  error
)

// dirtyTracking reports whether restores can copy back written pages; the
// error says why not.
func dirtyTracking() (*pageTracker, error) {
	trackerOnce.Do(func() { tracker, trackerErr = openTracker() })
	return tracker, trackerErr
}

func openTracker() (*pageTracker, error) {
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if errno == unix.EPERM { // unprivileged: user-mode faults are all we need
		fd, _, errno = unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK|uffdUserModeOnly, 0, 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("userfaultfd: %w", errno)
	}
	api := [3]uint64{uffdAPI, uffdFeatureWPAsync | uffdFeatureWPShmem, 0}
	if err := ioctl(int(fd), uffdioAPI, unsafe.Pointer(&api)); err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("userfaultfd: asynchronous write-protect: %w", err)
	}
	pm, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("pagemap: %w", err)
	}
	t := &pageTracker{uffd: int(fd), pagemap: pm}
	// Probe PAGEMAP_SCAN (Linux 6.7) on a scratch mapping.
	probe, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err == nil {
		defer unix.Munmap(probe)
		if err = t.register(probe); err == nil {
			probe[0] = 1
			var vec [1]pageRegion
			n := 0
			err = t.written(probe, vec[:], func(int, int) { n++ })
			if err == nil && n != 1 {
				err = fmt.Errorf("a written page was not reported")
			}
		}
	}
	if err != nil {
		t.close()
		return nil, fmt.Errorf("dirty-page tracking: %w", err)
	}
	return t, nil
}

func (t *pageTracker) close() {
	unix.Close(t.uffd)
	unix.Close(t.pagemap)
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

func span(b []byte) (uint64, uint64) {
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	return p, uint64(len(b))
}

// register starts tracking writes to b (page-aligned) and protects it.
func (t *pageTracker) register(b []byte) error {
	start, n := span(b)
	reg := [4]uint64{start, n, uffdRegisterModeWP, 0}
	if err := ioctl(t.uffd, uffdioRegister, unsafe.Pointer(&reg)); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	return t.protect(b)
}

// protect write-protects b, including pages not mapped yet.
func (t *pageTracker) protect(b []byte) error {
	start, n := span(b)
	wp := [3]uint64{start, n, uffdWriteprotectModeWP}
	if err := ioctl(t.uffd, uffdioWriteprotect, unsafe.Pointer(&wp)); err != nil {
		return fmt.Errorf("write-protect: %w", err)
	}
	return nil
}

// written calls fn with the offsets of every run of pages of b written
// since they were last protected, in address order. vec is scratch space.
func (t *pageTracker) written(b []byte, vec []pageRegion, fn func(off, end int)) error {
	start, n := span(b)
	arg := pmScanArg{
		size: uint64(unsafe.Sizeof(pmScanArg{})), flags: pmScanCheckAsync,
		start: start, end: start + n,
		vec: uint64(uintptr(unsafe.Pointer(&vec[0]))), vecLen: uint64(len(vec)),
		categoryMask: pageIsWritten, returnMask: pageIsWritten,
	}
	for arg.start < arg.end {
		got, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(t.pagemap), pagemapScan, uintptr(unsafe.Pointer(&arg)))
		runtime.KeepAlive(vec)
		if errno != 0 {
			return fmt.Errorf("scan: %w", errno)
		}
		for _, r := range vec[:got] {
			fn(int(r.start-start), int(r.end-start))
		}
		if arg.walkEnd <= arg.start {
			return errors.New("scan: no progress")
		}
		arg.start = arg.walkEnd
	}
	return nil
}

// reprotect write-protects the written pages of b again.
func (t *pageTracker) reprotect(b []byte) error {
	start, n := span(b)
	arg := pmScanArg{
		size: uint64(unsafe.Sizeof(pmScanArg{})), flags: pmScanCheckAsync | pmScanWPMatching,
		start: start, end: start + n,
		categoryMask: pageIsWritten,
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(t.pagemap), pagemapScan, uintptr(unsafe.Pointer(&arg))); errno != 0 {
		return fmt.Errorf("re-protect: %w", errno)
	}
	return nil
}
