// Package wasmbin reads and rewrites the few parts of WebAssembly binaries
// the host needs: it exports a module's mutable globals so that an
// instance's complete state (linear memory and globals) can be snapshotted
// and restored through wazero's public API, and it instruments modules to
// count their own work against a deterministic budget (fuel.go).
package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
)

// GlobalExportPrefix names the exports added by ExportGlobals: the global of
// index i is exported as GlobalExportPrefix + decimal(i).
const GlobalExportPrefix = "terrarium.global."

// ErrMalformed is wrapped by errors about binaries this package cannot read.
var ErrMalformed = errors.New("malformed wasm binary")

const (
	secCustom = 0
	secImport = 2
	secGlobal = 6
	secExport = 7
)

type section struct {
	id   byte
	body []byte
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail("unexpected end")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 0xffffffff {
				return 0, r.fail("u32 overflows")
			}
			return uint32(v), nil
		}
	}
	return 0, r.fail("u32 too long")
}

// sleb skips a signed LEB128 of at most maxBytes bytes.
func (r *reader) sleb(maxBytes int) error {
	for i := 0; i < maxBytes; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return r.fail("integer too long")
}

func (r *reader) skip(n int) error {
	if n < 0 || r.off+n > len(r.b) {
		return r.fail("unexpected end")
	}
	r.off += n
	return nil
}

func (r *reader) name() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	return r.skip(int(n))
}

func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil { // min (memory64 sizes fit the first 5 bytes in practice)
		return err
	}
	if flags&1 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// constExpr skips a constant expression up to and including its end opcode.
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41: // i32.const
			err = r.sleb(5)
		case 0x42: // i64.const
			err = r.sleb(10)
		case 0x43: // f32.const
			err = r.skip(4)
		case 0x44: // f64.const
			err = r.skip(8)
		case 0x23, 0xd2: // global.get, ref.func
			_, err = r.u32()
		case 0xd0: // ref.null t
			_, err = r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		case 0xfd: // v128.const
			var sub uint32
			if sub, err = r.u32(); err == nil && sub != 12 {
				return r.fail("unsupported SIMD opcode %d in constant expression", sub)
			}
			if err == nil {
				err = r.skip(16)
			}
		default:
			return r.fail("unsupported opcode 0x%02x in constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}

func splitSections(wasm []byte) ([]section, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, fmt.Errorf("%w: bad magic bytes", ErrMalformed)
	}
	r := &reader{b: wasm, off: 8}
	var out []section
	for r.off < len(wasm) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.off
		if err := r.skip(int(n)); err != nil {
			return nil, err
		}
		out = append(out, section{id, wasm[start:r.off]})
	}
	return out, nil
}

// importedGlobals returns the number of globals an import section imports.
func importedGlobals(body []byte) (uint32, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	var imported uint32
	for i := uint32(0); i < n; i++ {
		if err := r.name(); err != nil {
			return 0, err
		}
		if err := r.name(); err != nil {
			return 0, err
		}
		kind, err := r.byte()
		if err != nil {
			return 0, err
		}
		switch kind {
		case 0x00: // func
			_, err = r.u32()
		case 0x01: // table
			if _, err = r.byte(); err == nil {
				err = r.limits()
			}
		case 0x02: // memory
			err = r.limits()
		case 0x03: // global
			imported++
			err = r.skip(2)
		case 0x04: // tag
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return 0, r.fail("unknown import kind %d", kind)
		}
		if err != nil {
			return 0, err
		}
	}
	return imported, nil
}

// mutableGlobals returns the indexes (in the global index space) of the
// module's own mutable globals.
func mutableGlobals(secs []section) ([]uint32, error) {
	var imported uint32
	var mutable []uint32
	for _, s := range secs {
		switch s.id {
		case secImport:
			n, err := importedGlobals(s.body)
			if err != nil {
				return nil, err
			}
			imported = n
		case secGlobal:
			r := &reader{b: s.body}
			n, err := r.u32()
			if err != nil {
				return nil, err
			}
			for i := uint32(0); i < n; i++ {
				if _, err := r.byte(); err != nil { // value type
					return nil, err
				}
				mut, err := r.byte()
				if err != nil {
					return nil, err
				}
				if err := r.constExpr(); err != nil {
					return nil, err
				}
				if mut == 1 {
					mutable = append(mutable, imported+i)
				}
			}
		}
	}
	return mutable, nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// ExportGlobals returns a copy of wasm that also exports each of its own
// mutable globals under GlobalExportPrefix+index, and the names it added.
// The module's behaviour is unchanged: exports are only names.
func ExportGlobals(wasm []byte) ([]byte, []string, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, nil, err
	}
	mutable, err := mutableGlobals(secs)
	if err != nil {
		return nil, nil, err
	}
	if len(mutable) == 0 {
		return wasm, nil, nil
	}
	var names []string
	var added []byte
	for _, idx := range mutable {
		name := fmt.Sprintf("%s%d", GlobalExportPrefix, idx)
		names = append(names, name)
		added = appendU32(added, uint32(len(name)))
		added = append(added, name...)
		added = append(added, 0x03) // global
		added = appendU32(added, idx)
	}
	out := append([]byte(nil), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	exportBody := func(old []byte) ([]byte, error) {
		r := &reader{b: old}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		body := appendU32(nil, n+uint32(len(mutable)))
		body = append(body, old[r.off:]...)
		return append(body, added...), nil
	}
	done := false
	for _, s := range secs {
		if s.id == secExport && !done {
			body, err := exportBody(s.body)
			if err != nil {
				return nil, nil, err
			}
			emit(s.id, body)
			done = true
			continue
		}
		emit(s.id, s.body)
	}
	if !done {
		// Environment modules always export functions; a module without an
		// export section is not one.
		return nil, nil, fmt.Errorf("%w: no export section", ErrMalformed)
	}
	return out, names, nil
}
