//go:build wasip1

package sdk

import (
	"runtime/debug"
	"unsafe"

	"github.com/terrarium-rl/terrarium/abi"
)

// The exports below implement ABI v1 (docs/abi.md) for Go guests built with
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.

var (
	theDriver *driver
	inbuf     []byte // request buffer handed to the host by terrarium_buffer
	outbuf    []byte // reply of the last call
)

func init() {
	// Unbounded recursion in an env should fail fast with a clear
	// "stack overflow" rather than exhaust the memory limit first.
	debug.SetMaxStack(16 << 20)
}

func drv() *driver {
	if theDriver == nil {
		theDriver = newDriver(registered)
	}
	return theDriver
}

func finish(r reply) int32 {
	outbuf = r.body
	return int32(r.status)
}

//go:wasmexport terrarium_abi_version
func exportABIVersion() int32 { return abi.Version }

//go:wasmexport terrarium_buffer
func exportBuffer(size int32) unsafe.Pointer {
	if size < 1 {
		size = 1
	}
	if int(size) > cap(inbuf) {
		inbuf = make([]byte, size)
	}
	inbuf = inbuf[:size]
	return unsafe.Pointer(&inbuf[0])
}

func request(n int32) []byte {
	if n <= 0 || int(n) > len(inbuf) {
		return nil
	}
	return inbuf[:n]
}

//go:wasmexport terrarium_configure
func exportConfigure(n int32) int32 { return finish(drv().configure(request(n))) }

//go:wasmexport terrarium_spec
func exportSpec() int32 { return finish(drv().spec()) }

//go:wasmexport terrarium_reset
func exportReset(seed int64, task int32, n int32) int32 {
	return finish(drv().reset(uint64(seed), task, request(n)))
}

//go:wasmexport terrarium_step
func exportStep(n int32) int32 { return finish(drv().step(request(n))) }

//go:wasmexport terrarium_score
func exportScore() int32 { return finish(drv().score()) }

//go:wasmexport terrarium_oracle
func exportOracle() int32 { return finish(drv().oracleAction()) }

//go:wasmexport terrarium_result_ptr
func exportResultPtr() unsafe.Pointer {
	if len(outbuf) == 0 {
		return nil
	}
	return unsafe.Pointer(&outbuf[0])
}

//go:wasmexport terrarium_result_len
func exportResultLen() int32 { return int32(len(outbuf)) }

//go:wasmimport terrarium log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

func logMessage(level int, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(int32(level), unsafe.Pointer(&b[0]), int32(len(b)))
}
