//go:build !linux

package runtime

import "errors"

// Without Linux's memfd and madvise, restore copies the snapshot.

const cowSupported = false

type cowImage struct{ size int }

func newCowImage([]byte) (*cowImage, error) {
	return nil, errors.New("copy-on-write restore needs Linux")
}
func (*cowImage) close() {}

type cowMemory struct{ copied int }

func newCowMemory(uint64) (*cowMemory, error) {
	return nil, errors.New("copy-on-write restore needs Linux")
}
func (*cowMemory) Reallocate(uint64) []byte            { return nil }
func (*cowMemory) Free()                               {}
func (*cowMemory) reset(*cowImage, []byte, bool) error { return errors.New("unsupported") }

func (*instance) copyWritten(*instance) bool { return false }

type pageTracker struct{}

func dirtyTracking() (*pageTracker, error) {
	return nil, errors.New("dirty-page tracking needs Linux")
}
