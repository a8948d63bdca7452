//go:build !wasip1

package sdk

import "github.com/terrarium-rl/terrarium/abi"

func callBackend(name string, request []byte) ([]byte, error) {
	if nativeBackend == nil {
		return nil, &BackendError{Status: abi.StatusUnsupported, Message: "no backend in a native run (see SetNativeBackend)"}
	}
	return nativeBackend(name, request)
}
