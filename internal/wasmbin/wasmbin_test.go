package wasmbin

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// module assembles a binary from sections given as (id, body) pairs.
func module(secs ...[]byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range secs {
		out = append(out, s[0])
		out = appendU32(out, uint32(len(s)-1))
		out = append(out, s[1:]...)
	}
	return out
}

// A module with an imported global, two defined globals (one mutable, one
// not), a memory, and one export.
var sample = module(
	[]byte{2, 1, 3, 'e', 'n', 'v', 1, 'g', 0x03, 0x7f, 0x00}, // import env.g: i32 const
	[]byte{5, 1, 0x00, 0x01},                                 // memory min 1
	[]byte{6, 2,
		0x7e, 0x01, 0x42, 0x2a, 0x0b, // global 1: mut i64 = 42
		0x7f, 0x00, 0x41, 0x03, 0x0b}, // global 2: i32 = 3
	[]byte{7, 1, 3, 'm', 'e', 'm', 0x02, 0x00}, // export "mem" memory 0
)

func TestExportGlobals(t *testing.T) {
	out, names, err := ExportGlobals(sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != GlobalExportPrefix+"1" {
		t.Fatalf("names %v, want [%s1]: only the defined mutable global, in the global index space", names, GlobalExportPrefix)
	}
	// wazero accepts the result and sees the new export as a mutable global.
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := r.NewHostModuleBuilder("env").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	cm, err := r.CompileModule(ctx, out)
	if err != nil {
		t.Fatalf("rewritten module does not compile: %v", err)
	}
	if _, ok := cm.ExportedMemories()["mem"]; !ok {
		t.Error("original export lost")
	}
}

func TestExportGlobalsErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"not wasm", []byte("hello world")},
		{"truncated section", sample[:len(sample)-3]},
		{"bad const expr", module([]byte{6, 1, 0x7f, 0x01, 0x99, 0x0b}, []byte{7, 0})},
		{"overlong leb", module([]byte{6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})},
		{"no export section", module([]byte{6, 1, 0x7f, 0x01, 0x41, 0x00, 0x0b})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ExportGlobals(tc.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNoMutableGlobalsUnchanged(t *testing.T) {
	in := module([]byte{6, 1, 0x7f, 0x00, 0x41, 0x07, 0x0b}, []byte{7, 0})
	out, names, err := ExportGlobals(in)
	if err != nil || names != nil || !bytes.Equal(in, out) {
		t.Errorf("got %v, %v, changed %v; want the input back", names, err, !bytes.Equal(in, out))
	}
}

func FuzzExportGlobals(f *testing.F) {
	f.Add(sample)
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, names, err := ExportGlobals(in)
		if err != nil {
			return
		}
		// Rewriting again adds the same names once more: the rewrite is a
		// pure function of its input, and never panics on its own output.
		if _, names2, err := ExportGlobals(out); err != nil || len(names2) != len(names) {
			t.Fatalf("second rewrite: %v, %d names, want %d", err, len(names2), len(names))
		}
	})
}
