package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

// backendWAT is a minimal hand-written env that reaches a backend with the
// raw imports, as a C or WAT guest would: reset calls "obs/get", asks
// backend_result for the length with cap 0, copies the result into its
// reply buffer and replies with it, so the observation is whatever the
// backend answered (or the host's error object, with its status).
const backendWAT = `(module
  (import "terrarium" "backend_call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "terrarium" "backend_result" (func $result (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "obs/get")
  (data (i32.const 16) "{\"name\":\"rawbackend\",\"version\":\"1.0.0\",\"tasks\":1,\"backends\":[\"obs\"]}")
  (data (i32.const 128) "{\"reward\":1}")
  (global $rptr (mut i32) (i32.const 0))
  (global $rlen (mut i32) (i32.const 0))
  (func (export "terrarium_abi_version") (result i32) (i32.const 1))
  (func (export "terrarium_buffer") (param i32) (result i32) (i32.const 4096))
  (func (export "terrarium_spec") (result i32)
    (global.set $rptr (i32.const 16)) (global.set $rlen (i32.const 68)) (i32.const 0))
  (func (export "terrarium_reset") (param i64 i32 i32) (result i32)
    (local $status i32) (local $n i32)
    (local.set $status (call $call (i32.const 0) (i32.const 7) (i32.const 4096) (local.get 2)))
    (local.set $n (call $result (i32.const 0) (i32.const 0)))
    (drop (call $result (i32.const 8192) (local.get $n)))
    (global.set $rptr (i32.const 8192)) (global.set $rlen (local.get $n))
    (local.get $status))
  (func (export "terrarium_step") (param i32) (result i32)
    (global.set $rptr (i32.const 128)) (global.set $rlen (i32.const 2)) (i32.const 1))
  (func (export "terrarium_score") (result i32)
    (global.set $rptr (i32.const 128)) (global.set $rlen (i32.const 12)) (i32.const 0))
  (func (export "terrarium_result_ptr") (result i32) (global.get $rptr))
  (func (export "terrarium_result_len") (result i32) (global.get $rlen)))`

type constBackend string

func (c constBackend) Call(context.Context, string, []byte) ([]byte, error) { return []byte(c), nil }

func TestBackendFromWAT(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, patientConfig())
	env, err := h.Load(ctx, trt.Source{Name: "rawbackend.wasm", Wasm: wat2wasm(t, backendWAT)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	const obs = `{"messages":[{"role":"user","content":"from the backend"}],"tools":[]}`
	ep, got, err := env.Start(ctx, 1, 0, trt.WithBackend("obs", constBackend(obs)))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer ep.Close(ctx)
	if len(got.Messages) != 1 || got.Messages[0].Content != "from the backend" {
		t.Fatalf("observation %+v, want the backend's", got)
	}
	// Not granted: the guest gets status 3 and the host's error object,
	// which it passes on as its reset's refusal.
	_, _, err = env.Start(ctx, 1, 0)
	var ge *trt.GuestError
	if !errors.As(err, &ge) || ge.Status != abi.StatusUnsupported || ge.Message != `backend "obs" is not available to this episode` {
		t.Fatalf("start without the backend: %v, want the unsupported status and message", err)
	}
}
