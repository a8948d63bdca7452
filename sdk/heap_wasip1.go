//go:build wasip1

package sdk

import "runtime"

// heapMarginBytes is how far past the next collection's goal reserveHeap
// maps the heap.
const heapMarginBytes = 1 << 20

func init() { afterFirstReset = ReserveHeap }

// ReserveHeap maps enough Go heap that allocating up to the next garbage
// collection's goal does not grow the instance's linear memory.
//
// Why: the host snapshots an instance after one warm-up reset and starts
// every episode from that snapshot, recycling an instance only if its
// memory did not grow (linear memory cannot shrink). The Go heap maps memory
// in small steps as it fills towards its next collection's goal, so without
// this most episodes grow memory a little and their instances are thrown
// away, making every start an instantiation. The SDK runs it once per
// instance, after the first reset (the host's warm-up), so the snapshot
// includes it; a runner that allocates heavily while configuring (the
// JavaScript runner) may also call it then. Natively it does nothing.
func ReserveHeap() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if need := int64(ms.NextGC) + heapMarginBytes - int64(ms.HeapSys-ms.HeapReleased); need > 0 {
		b := make([]byte, need)
		runtime.KeepAlive(b)
		b = nil
		runtime.GC()
	}
}
