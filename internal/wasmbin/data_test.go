package wasmbin

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// dataModule has one exported memory and the given data section body.
func dataModule(dataBody []byte, extra ...[]byte) []byte {
	secs := [][]byte{
		{5, 1, 0x00, 0x01},                   // memory min 1
		{7, 1, 3, 'm', 'e', 'm', 0x02, 0x00}, // export "mem"
	}
	secs = append(secs, extra...)
	return module(append(secs, append([]byte{11}, dataBody...))...)
}

// segments encodes active segments (offset, bytes) for memory 0.
func segments(segs ...any) []byte {
	b := appendU32(nil, uint32(len(segs)/2))
	for i := 0; i < len(segs); i += 2 {
		b = append(b, 0x00, 0x41)
		b = appendS32(b, int32(segs[i].(int)))
		b = append(b, 0x0b)
		d := []byte(segs[i+1].(string))
		b = appendU32(b, uint32(len(d)))
		b = append(b, d...)
	}
	return b
}

// memoryOf instantiates wasm and returns its first page.
func memoryOf(t *testing.T, wasm []byte) []byte {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	m, err := r.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	b, _ := m.Memory().Read(0, 65536)
	return append([]byte(nil), b...)
}

func TestMergeDataSegments(t *testing.T) {
	tests := []struct {
		name         string
		in           []byte
		before, want int
	}{
		{"adjacent and near", dataModule(segments(0, "ab", 2, "cd", 10, "ef", 5000, "far", 5003, "x")), 5, 2},
		{"out of order stays apart", dataModule(segments(100, "late", 10, "early")), 2, 2},
		{"overlap stays apart", dataModule(segments(0, "abcd", 2, "zz")), 2, 2},
		{"offsets past one LEB byte", dataModule(segments(64, "a", 65, "b", 66, "c")), 3, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, before, after, err := MergeDataSegments(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if before != tc.before || after != tc.want {
				t.Fatalf("%d -> %d segments, want %d -> %d", before, after, tc.before, tc.want)
			}
			if !bytes.Equal(memoryOf(t, out), memoryOf(t, tc.in)) {
				t.Fatal("memory after instantiation differs")
			}
		})
	}
}

func TestMergeDataSegmentsLeavesIndexedModules(t *testing.T) {
	passive := appendU32(nil, 2)
	passive = append(passive, 0x01, 1, 'a')                   // passive segment
	passive = append(passive, 0x00, 0x41, 0x00, 0x0b, 1, 'b') // active
	dataCount := []byte{12, 1}
	for name, in := range map[string][]byte{
		"passive segment":    dataModule(passive),
		"data count section": dataModule(segments(0, "a", 1, "b"), dataCount),
	} {
		t.Run(name, func(t *testing.T) {
			out, _, _, err := MergeDataSegments(in)
			if err != nil || !bytes.Equal(out, in) {
				t.Errorf("changed the module (err %v); segment indexes may be in use", err)
			}
		})
	}
}

func FuzzMergeDataSegments(f *testing.F) {
	f.Add(dataModule(segments(0, "ab", 2, "cd", 10, "ef")))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, after, err := MergeDataSegments(in)
		if err != nil {
			return
		}
		// Merging is idempotent.
		again, _, after2, err := MergeDataSegments(out)
		if err != nil || after2 != after || !bytes.Equal(again, out) {
			t.Fatalf("second merge: %v, %d segments (first %d), changed %v", err, after2, after, !bytes.Equal(again, out))
		}
	})
}
