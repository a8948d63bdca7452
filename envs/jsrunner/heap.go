package main

import "runtime"

// heapMarginBytes is how far past the next collection's goal reserveHeap
// maps the heap.
const heapMarginBytes = 1 << 20

// reserveHeap maps enough heap that allocating up to the next garbage
// collection's goal does not grow the instance's linear memory.
//
// Why: a host that snapshots the instance after configure (package runtime
// does) starts every episode from that state and recycles an instance only
// if its memory did not grow, since linear memory cannot shrink. The Go
// heap maps memory in small steps as it fills towards the goal of its next
// collection (at least 4 MB), and a goja runtime fills it quickly: without
// this, nearly every episode grows memory by a few hundred KB and its
// instance is thrown away. The cost is paid once per instance: a collection
// and a megabyte or two of memory.
func reserveHeap() {
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
