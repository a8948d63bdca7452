package sdk_test

import (
	"errors"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

func TestCallBackendNative(t *testing.T) {
	var be *sdk.BackendError
	if _, err := sdk.CallBackend("kv/get", []byte("a")); !errors.As(err, &be) || be.Status != abi.StatusUnsupported {
		t.Fatalf("without a native backend: %v, want an unsupported BackendError", err)
	}
	var gotName, gotReq string
	sdk.SetNativeBackend(func(name string, req []byte) ([]byte, error) {
		gotName, gotReq = name, string(req)
		if string(req) == "zz" {
			return nil, &sdk.BackendError{Status: abi.StatusBadRequest, Message: "no key"}
		}
		return []byte("apple"), nil
	})
	defer sdk.SetNativeBackend(nil)
	resp, err := sdk.CallBackend("kv/get", []byte("a"))
	if err != nil || string(resp) != "apple" || gotName != "kv/get" || gotReq != "a" {
		t.Fatalf("CallBackend = %q, %v (backend saw %q %q)", resp, err, gotName, gotReq)
	}
	if _, err := sdk.CallBackend("kv/get", []byte("zz")); !errors.As(err, &be) || be.Status != abi.StatusBadRequest {
		t.Fatalf("a refusal came back as %v", err)
	}
}
