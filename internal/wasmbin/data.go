package wasmbin

const (
	secData      = 11
	secDataCount = 12
)

// MaxMergeGap is the largest run of zero bytes MergeDataSegments fills in to
// join two segments.
const MaxMergeGap = 4096

// MergeDataSegments returns wasm with runs of active data segments for
// memory 0, at constant offsets in increasing order and at most MaxMergeGap
// bytes apart, joined into single segments (gaps filled with zeros, which a
// fresh memory holds anyway). Go's linker splits a module's data into tens
// of thousands of segments, and wazero keeps bookkeeping per segment in
// every instance; merging cuts both the memory an instance costs and the
// time to instantiate it. Memory contents after instantiation are
// unchanged.
//
// Segment indexes change, so a module with a data count section (required
// by memory.init and data.drop, the only instructions that name segments)
// or with passive segments is returned unchanged.
func MergeDataSegments(wasm []byte) ([]byte, int, int, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, 0, 0, err
	}
	idx := -1
	for i, s := range secs {
		switch s.id {
		case secDataCount:
			return wasm, 0, 0, nil
		case secData:
			idx = i
		}
	}
	if idx < 0 {
		return wasm, 0, 0, nil
	}
	type seg struct {
		offset uint32
		data   []byte
	}
	r := &reader{b: secs[idx].body}
	n, err := r.u32()
	if err != nil {
		return nil, 0, 0, err
	}
	segs := make([]seg, 0, n)
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return nil, 0, 0, err
		}
		if flags != 0 { // passive, or another memory
			return wasm, 0, 0, nil
		}
		// The offset must be a lone i32.const to be merged.
		op, err := r.byte()
		if err != nil {
			return nil, 0, 0, err
		}
		if op != 0x41 {
			return wasm, 0, 0, nil
		}
		off, err := r.s32()
		if err != nil {
			return nil, 0, 0, err
		}
		if end, err := r.byte(); err != nil {
			return nil, 0, 0, err
		} else if end != 0x0b {
			return wasm, 0, 0, nil
		}
		size, err := r.u32()
		if err != nil {
			return nil, 0, 0, err
		}
		start := r.off
		if err := r.skip(int(size)); err != nil {
			return nil, 0, 0, err
		}
		segs = append(segs, seg{uint32(off), r.b[start:r.off]})
	}
	if r.off != len(r.b) {
		return nil, 0, 0, r.fail("%d bytes after the data segments", len(r.b)-r.off)
	}
	var merged []seg
	for _, s := range segs {
		if k := len(merged) - 1; k >= 0 {
			last := &merged[k]
			end := uint64(last.offset) + uint64(len(last.data))
			if uint64(s.offset) >= end && uint64(s.offset)-end <= MaxMergeGap {
				gap := int(uint64(s.offset) - end)
				last.data = append(append(last.data, make([]byte, gap)...), s.data...)
				continue
			}
		}
		merged = append(merged, seg{s.offset, append([]byte(nil), s.data...)})
	}
	if len(merged) == len(segs) {
		return wasm, len(segs), len(segs), nil
	}
	body := appendU32(nil, uint32(len(merged)))
	for _, s := range merged {
		body = append(body, 0x00, 0x41)
		body = appendS32(body, int32(s.offset))
		body = append(body, 0x0b)
		body = appendU32(body, uint32(len(s.data)))
		body = append(body, s.data...)
	}
	out := append([]byte(nil), wasm[:8]...)
	for i, s := range secs {
		b := s.body
		if i == idx {
			b = body
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out, len(segs), len(merged), nil
}

// s32 reads a signed LEB128 32-bit integer.
func (r *reader) s32() (int32, error) {
	var v int64
	var shift uint
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				return 0, r.fail("i32 out of range")
			}
			return int32(v), nil
		}
	}
	return 0, r.fail("i32 too long")
}

func appendS32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
