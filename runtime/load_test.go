package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

// TestLoadErrors feeds Load modules that cannot be environments. Each must
// fail with one line that names the file and wraps ErrInvalidModule, since
// that line is all a user sees of what to fix.
func TestLoadErrors(t *testing.T) {
	guess := guessSource(t)
	good := wat2wasm(t, guess)
	const logImport = `(import "terrarium" "log" (func $log (param $level i32) (param $ptr i32) (param $len i32)))`
	// edit returns guess.wat with old replaced by new, failing if old is
	// not there (the example changed under the test).
	edit := func(t *testing.T, old, new string) []byte {
		t.Helper()
		if !strings.Contains(guess, old) {
			t.Fatalf("guess.wat no longer contains %q", old)
		}
		return wat2wasm(t, strings.Replace(guess, old, new, 1))
	}
	addImport := func(t *testing.T, imp string) []byte {
		t.Helper()
		return edit(t, logImport, logImport+"\n"+imp)
	}
	tests := []struct {
		name string
		wasm func(t *testing.T) []byte
		want string
	}{
		{"not wasm", func(*testing.T) []byte { return []byte("#!/bin/sh\necho hello\n") }, "not a WebAssembly module"},
		{"empty", func(*testing.T) []byte { return nil }, "not a WebAssembly module"},
		{"truncated", func(*testing.T) []byte { return good[:len(good)/2] }, ""},
		{"wrong ABI version", func(t *testing.T) []byte {
			return edit(t, `(func (export "terrarium_abi_version") (result i32) (i32.const 1))`,
				`(func (export "terrarium_abi_version") (result i32) (i32.const 2))`)
		}, "ABI version 2, this host speaks version 1"},
		{"missing export", func(t *testing.T) []byte {
			return edit(t, `(func (export "terrarium_step")`, `(func $unexported_step`)
		}, "missing export terrarium_step"},
		{"export with wrong signature", func(t *testing.T) []byte {
			return edit(t, `(func (export "terrarium_step") (param $len i32)`, `(func (export "terrarium_step") (param $len i32) (param $extra i32)`)
		}, "export terrarium_step has type (i32, i32) -> (i32), want (i32) -> (i32)"},
		{"initializer with results", func(t *testing.T) []byte {
			return edit(t, `(memory (export "memory") 2)`, `(memory (export "memory") 2) (func (export "_initialize") (result i32 i32 i32 i32 i32 i32 i32 i32 i32) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))`)
		}, "export _initialize has type () -> (i32, i32, i32, i32, i32, i32, i32, i32, i32), want () -> ()"},
		{"no memory export", func(t *testing.T) []byte {
			return edit(t, `(memory (export "memory") 2)`, `(memory 2)`)
		}, "the module exports no memory"},
		{"imported memory", func(t *testing.T) []byte {
			return edit(t, `(memory (export "memory") 2)`, `(import "env" "memory" (memory 2)) (export "memory" (memory 0))`)
		}, "the module imports its memory"},
		{"memory minimum over the limit", func(t *testing.T) []byte {
			return edit(t, `(memory (export "memory") 2)`, `(memory (export "memory") 5000)`)
		}, "min 5000 pages"},
		{"WASI command", func(t *testing.T) []byte {
			return wat2wasm(t, `(module (memory (export "memory") 1) (func (export "_start")))`)
		}, "missing export terrarium_abi_version: the module is a WASI command (exports _start); build it as a reactor"},
		{"import from an unknown module", func(t *testing.T) []byte {
			return addImport(t, `(import "env" "now" (func (result i64)))`)
		}, "imports env.now: only wasi_snapshot_preview1 and terrarium functions are provided"},
		{"terrarium import ABI v1 lacks", func(t *testing.T) []byte {
			return addImport(t, `(import "terrarium" "http_get" (func (param i32 i32) (result i32)))`)
		}, "imports terrarium.http_get, which ABI v1 does not provide"},
		{"unknown WASI function", func(t *testing.T) []byte {
			return addImport(t, `(import "wasi_snapshot_preview1" "sock_open" (func (param i32) (result i32)))`)
		}, "imports wasi_snapshot_preview1.sock_open, which the host does not provide"},
		{"terrarium.log with the wrong signature", func(t *testing.T) []byte {
			return addImport(t, `(import "terrarium" "log" (func (param i32)))`)
		}, "imports terrarium.log with type (i32) -> (), want (i32, i32, i32) -> ()"},
		{"invalid spec", func(t *testing.T) []byte {
			return edit(t, `\"tasks\":3`, `\"tasks\":0`)
		}, "spec: tasks is 0, want at least 1"},
	}
	ctx := context.Background()
	h := newHost(t, trt.NewConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const name = "testdata/broken.wasm"
			env, err := h.Load(ctx, trt.Source{Name: name, Wasm: tt.wasm(t)})
			if err == nil {
				env.Close(ctx)
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			t.Logf("%s", msg)
			if !errors.Is(err, trt.ErrInvalidModule) {
				t.Errorf("error does not wrap ErrInvalidModule: %v", err)
			}
			if !strings.HasPrefix(msg, "load "+name+": ") {
				t.Errorf("error does not start with %q: %v", "load "+name+": ", err)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
		})
	}
}
