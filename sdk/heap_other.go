//go:build !wasip1

package sdk

// ReserveHeap prepares a guest's heap for the host's snapshot; see the
// wasip1 build. Natively there is no snapshot and it does nothing.
func ReserveHeap() {}
