package sdk

import (
	"encoding/json"
	"unsafe"

	"github.com/terrarium-rl/terrarium/abi"
)

//go:wasmimport terrarium backend_call
func hostBackendCall(name unsafe.Pointer, nameLen int32, req unsafe.Pointer, reqLen int32) int32

//go:wasmimport terrarium backend_result
func hostBackendResult(ptr unsafe.Pointer, capacity int32) int32

// backendBuf receives results; most fit, larger ones are fetched again at
// their size.
var backendBuf = make([]byte, 64<<10)

func callBackend(name string, request []byte) ([]byte, error) {
	nb := []byte(name)
	var np, rp unsafe.Pointer
	if len(nb) > 0 {
		np = unsafe.Pointer(&nb[0])
	}
	if len(request) > 0 {
		rp = unsafe.Pointer(&request[0])
	}
	st := abi.Status(hostBackendCall(np, int32(len(nb)), rp, int32(len(request))))
	n := hostBackendResult(unsafe.Pointer(&backendBuf[0]), int32(len(backendBuf)))
	var out []byte
	if int(n) <= len(backendBuf) {
		out = append([]byte(nil), backendBuf[:n]...)
	} else {
		out = make([]byte, n)
		hostBackendResult(unsafe.Pointer(&out[0]), n)
	}
	if st == abi.StatusOK {
		return out, nil
	}
	var e abi.Error
	if json.Unmarshal(out, &e) != nil || e.Error == "" {
		e.Error = string(out)
	}
	return nil, &BackendError{Status: st, Message: e.Error}
}
