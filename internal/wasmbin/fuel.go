package wasmbin

// Fuel metering: a rewrite that makes a module count its own work in a
// global, so that the host can bound a call by a budget that is a pure
// function of the module's bytes and inputs, the same on every machine.
//
// # The cost model
//
// The pass charges at two kinds of charge point: the entry of every
// function body and the header of every loop (the first instruction inside
// it, which is where a branch to the loop lands, so every iteration pays).
// The cost of a charge point is the number of instructions executed
// unconditionally from it: the straight-line run that starts at the charge
// point and ends with, and includes, the first instruction that may transfer
// control (br, br_if, br_table, if, else, return, return_call*, br_on_*,
// unreachable, loop, or the body's final end). block, nop, calls and the
// end of a nested block, loop or if are counted and passed through: a call
// returns to the next instruction (its callee is charged at its own entry),
// and falling through an end is straight-line. Every charge is at least 1,
// so every call and every loop iteration costs fuel, and the charge never
// depends on anything but the instructions of the body.
//
// Bulk memory and table instructions (memory.copy, memory.fill,
// memory.init, table.copy, table.fill, table.init, table.grow) do work in
// proportion to their length operand, so each also pays length/16 (bytes or
// elements, rounded down) right before it runs, through a scratch i32 local
// the pass appends to the function's locals.
//
// Fuel is therefore a deterministic measure of work that grows with the
// calls, loop iterations and bulk lengths a guest executes, not an exact
// instruction count: code past the first branch of a run (an if's arms, the
// code after a br_if) is paid for by the charge points, not instruction by
// instruction. Host functions cost nothing.
//
// # The charge
//
// At each charge point the pass inserts
//
//	global.get $fuel
//	i64.const  COST
//	i64.sub
//	global.set $fuel
//	global.get $fuel
//	i64.const  0
//	i64.lt_s
//	if
//	  unreachable
//	end
//
// The fuel global is a new mutable i64, appended after every existing
// global so that no global index moves, exported as FuelExport, and
// initialised to FuelUnmetered. Before a bulk instruction the pass inserts
// the same test after subtracting length>>4, with the length parked in the
// scratch local (local.set, the charge, local.get). The host stores a budget
// in the global before a
// call. Exhaustion is encoded in the global itself: the guest traps the
// moment its fuel goes negative, so after a trap a negative fuel value means
// "budget exhausted", and any other trap leaves it non-negative. No function
// or import is added, so no function index moves, and the name section,
// elements and data stay valid as they are.

import (
	"fmt"
	"math"
)

// FuelExport is the name under which InstrumentFuel exports the fuel global.
const FuelExport = "terrarium.fuel"

// FuelUnmetered is the fuel global's initial value: the module's start
// function, which runs before the host can store a budget, is in effect
// unmetered.
const FuelUnmetered = math.MaxInt64

// FuelInfo describes an instrumented module.
type FuelInfo struct {
	// Global is the fuel global's index in the global index space.
	Global uint32
	// Functions is the number of function bodies charged at entry.
	Functions int
	// Loops is the number of loop headers charged.
	Loops int
	// Bulk is the number of bulk memory and table instructions charged
	// by their length.
	Bulk int
}

// bulkShift sets the length charge of bulk instructions: length >> 4.
const bulkShift = 4

// Section ids beyond those of wasmbin.go.
const (
	secType     = 1
	secFunction = 3
	secTable    = 4
	secMemory   = 5
	secCode     = 10
)

// sectionOrder is the position of a non-custom section in the order the
// binary format requires (the data count and tag sections have ids out of
// order).
func sectionOrder(id byte) int {
	switch id {
	case 13: // tag
		return 6
	case 6, 7, 8, 9:
		return int(id) + 1
	case 12: // data count
		return 11
	case 10, 11:
		return int(id) + 2
	}
	return int(id)
}

// InstrumentFuel returns a copy of wasm that charges fuel at every function
// entry, loop header and bulk instruction (see the cost model at the top of
// fuel.go), and what it added. The result behaves as the input as long as
// its fuel lasts. Errors wrap ErrMalformed: a module it cannot read (an
// unknown opcode, exception handling, GC types, 64-bit memories) or one
// already instrumented is refused.
func InstrumentFuel(wasm []byte) ([]byte, FuelInfo, error) {
	var info FuelInfo
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, info, err
	}
	imported, defined, err := countGlobals(secs)
	if err != nil {
		return nil, info, err
	}
	info.Global = imported + defined
	if err := check32(secs); err != nil {
		return nil, info, err
	}
	params, err := bodyParams(secs)
	if err != nil {
		return nil, info, err
	}

	newGlobal := []byte{0x7e, 0x01, 0x42} // mut i64, i64.const
	newGlobal = appendS64(newGlobal, FuelUnmetered)
	newGlobal = append(newGlobal, 0x0b)
	newExport := appendU32(nil, uint32(len(FuelExport)))
	newExport = append(newExport, FuelExport...)
	newExport = append(newExport, 0x03) // global
	newExport = appendU32(newExport, info.Global)

	out := append([]byte(nil), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	var seen [14]bool
	globalDone, exportDone := false, false
	for _, s := range secs {
		if s.id != secCustom {
			if int(s.id) < len(seen) && seen[s.id] {
				return nil, info, fmt.Errorf("%w: duplicate section %d", ErrMalformed, s.id)
			}
			if int(s.id) < len(seen) {
				seen[s.id] = true
			}
			// A module without a global or export section gets one,
			// at the place the format requires.
			if !globalDone && s.id != secGlobal && sectionOrder(s.id) > sectionOrder(secGlobal) {
				emit(secGlobal, append([]byte{1}, newGlobal...))
				globalDone = true
			}
			if !exportDone && s.id != secExport && sectionOrder(s.id) > sectionOrder(secExport) {
				emit(secExport, append([]byte{1}, newExport...))
				exportDone = true
			}
		}
		switch s.id {
		case secGlobal:
			body, err := appendToVector(s.body, newGlobal)
			if err != nil {
				return nil, info, fmt.Errorf("global section: %w", err)
			}
			emit(s.id, body)
			globalDone = true
		case secExport:
			if err := checkExportNames(s.body); err != nil {
				return nil, info, err
			}
			body, err := appendToVector(s.body, newExport)
			if err != nil {
				return nil, info, fmt.Errorf("export section: %w", err)
			}
			emit(s.id, body)
			exportDone = true
		case secCode:
			body, err := instrumentCode(s.body, info.Global, params, &info)
			if err != nil {
				return nil, info, err
			}
			emit(s.id, body)
		default:
			emit(s.id, s.body)
		}
	}
	if !globalDone {
		emit(secGlobal, append([]byte{1}, newGlobal...))
	}
	if !exportDone {
		emit(secExport, append([]byte{1}, newExport...))
	}
	return out, info, nil
}

// appendToVector returns a vector's body (count, items) with one more item.
func appendToVector(old, item []byte) ([]byte, error) {
	r := &reader{b: old}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n == math.MaxUint32 {
		return nil, r.fail("vector too long")
	}
	body := appendU32(make([]byte, 0, len(old)+len(item)+5), n+1)
	body = append(body, old[r.off:]...)
	return append(body, item...), nil
}

// checkExportNames refuses a module that already exports FuelExport (one
// instrumented twice would export the name twice).
func checkExportNames(body []byte) error {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		ln, err := r.u32()
		if err != nil {
			return err
		}
		start := r.off
		if err := r.skip(int(ln)); err != nil {
			return err
		}
		if string(r.b[start:r.off]) == FuelExport {
			return r.fail("the module already exports %s", FuelExport)
		}
		if _, err := r.byte(); err != nil { // kind
			return err
		}
		if _, err := r.u32(); err != nil { // index
			return err
		}
	}
	return nil
}

// countGlobals returns the number of imported and of defined globals.
func countGlobals(secs []section) (imported, defined uint32, err error) {
	for _, s := range secs {
		switch s.id {
		case secImport:
			if imported, err = importedGlobals(s.body); err != nil {
				return 0, 0, err
			}
		case secGlobal:
			r := &reader{b: s.body}
			if defined, err = r.u32(); err != nil {
				return 0, 0, err
			}
		}
	}
	if uint64(imported)+uint64(defined) >= math.MaxUint32 {
		return 0, 0, fmt.Errorf("%w: too many globals", ErrMalformed)
	}
	return imported, defined, nil
}

// instrumentCode rewrites the code section's function bodies; params holds
// each body's number of parameters.
func instrumentCode(code []byte, fuel uint32, params []uint32, info *FuelInfo) ([]byte, error) {
	r := &reader{b: code}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	// Charges make a body about a third longer in practice.
	out := appendU32(make([]byte, 0, len(code)+len(code)/2), n)
	if int64(n) != int64(len(params)) {
		return nil, r.fail("%d function bodies for %d functions", n, len(params))
	}
	d := &decoder{fuel: fuel}
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.off
		if err := r.skip(int(size)); err != nil {
			return nil, err
		}
		body, err := d.body(code[start:r.off], params[i])
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
		info.Functions++
		info.Loops += d.loops
		info.Bulk += d.bulk
	}
	if r.off != len(code) {
		return nil, r.fail("trailing bytes after the code section's bodies")
	}
	return out, nil
}

// Instruction classes for the cost model.
const (
	opPlain  = iota // falls through to the next instruction
	opStop          // may transfer control: ends a straight-line run
	opLoop          // ends a run; the next instruction is a charge point
	opOpen          // block: opens a label
	opEnd           // closes a label
	opIfOpen        // if: opens a label and ends a run
	opBulk          // a bulk instruction: falls through, charged by length
)

// decoder holds the per-body buffers, reused across bodies.
type decoder struct {
	fuel   uint32
	starts []int   // offset of each instruction in the body
	class  []uint8 // its class
	out    []byte
	loops  int
	bulk   int
}

// body returns an instrumented copy of one function body (locals and
// expression) of a function with the given number of parameters.
func (d *decoder) body(b []byte, params uint32) ([]byte, error) {
	r := &reader{b: b}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	nlocals := uint64(params)
	for i := uint32(0); i < groups; i++ {
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		nlocals += uint64(n)
		if err := r.valType(); err != nil {
			return nil, err
		}
	}
	if nlocals >= math.MaxUint32 {
		return nil, r.fail("too many locals")
	}
	localsStart, exprStart := groups0(b), r.off
	d.starts, d.class, d.loops, d.bulk = d.starts[:0], d.class[:0], 0, 0
	depth := 1
	for depth > 0 {
		if r.off >= len(b) {
			return nil, r.fail("function body ends inside a block")
		}
		d.starts = append(d.starts, r.off)
		class, err := r.instruction()
		if err != nil {
			return nil, err
		}
		switch class {
		case opOpen, opLoop, opIfOpen:
			depth++
		case opEnd:
			depth--
		}
		if class == opEnd && depth == 0 {
			class = opStop // the body's final end
		}
		if class == opBulk {
			d.bulk++
		}
		d.class = append(d.class, uint8(class))
	}
	if r.off != len(b) {
		return nil, r.fail("bytes after the function body's end")
	}

	out := d.out[:0]
	scratch := uint32(nlocals) // the appended local, after every other
	if d.bulk > 0 {
		out = appendU32(out, groups+1)
		out = append(out, b[localsStart:exprStart]...)
		out = append(out, 1, 0x7f) // one i32
	} else {
		out = append(out, b[:exprStart]...)
	}
	out = d.charge(out, 0)
	for i, start := range d.starts {
		end := len(b)
		if i+1 < len(d.starts) {
			end = d.starts[i+1]
		}
		if d.class[i] == opBulk {
			out = d.chargeLength(out, scratch)
		}
		out = append(out, b[start:end]...)
		if d.class[i] == opLoop {
			out = d.charge(out, i+1)
			d.loops++
		}
	}
	d.out = out
	return out, nil
}

// groups0 returns the offset of a body's first local group, after the
// group count.
func groups0(b []byte) int {
	r := &reader{b: b}
	r.u32() // already read once without error
	return r.off
}

// chargeLength appends the length charge of a bulk instruction, whose
// length operand (an i32) is on top of the stack: it is parked in the
// scratch local while fuel is charged, then pushed back.
func (d *decoder) chargeLength(out []byte, scratch uint32) []byte {
	out = append(out, 0x21) // local.set
	out = appendU32(out, scratch)
	out = append(out, 0x23) // global.get
	out = appendU32(out, d.fuel)
	out = append(out, 0x20) // local.get
	out = appendU32(out, scratch)
	// i64.extend_i32_u, i64.const bulkShift, i64.shr_u, i64.sub
	out = append(out, 0xad, 0x42, bulkShift, 0x88, 0x7d)
	out = append(out, 0x24) // global.set
	out = appendU32(out, d.fuel)
	out = d.exhausted(out)
	out = append(out, 0x20) // local.get
	return appendU32(out, scratch)
}

// charge appends the charge for the run starting at instruction i.
func (d *decoder) charge(out []byte, i int) []byte {
	var cost int64
	for ; i < len(d.class); i++ {
		cost++
		if c := d.class[i]; c == opStop || c == opLoop || c == opIfOpen {
			break
		}
	}
	out = append(out, 0x23) // global.get
	out = appendU32(out, d.fuel)
	out = append(out, 0x42) // i64.const
	out = appendS64(out, cost)
	out = append(out, 0x7d, 0x24) // i64.sub, global.set
	out = appendU32(out, d.fuel)
	return d.exhausted(out)
}

// exhausted appends the test that traps when fuel is negative.
func (d *decoder) exhausted(out []byte) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, d.fuel)
	// i64.const 0, i64.lt_s, if (empty), unreachable, end
	return append(out, 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b)
}

// valType skips a value type, including the typed references
// (ref null? heaptype) of the function-references proposal.
func (r *reader) valType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return nil
	case 0x63, 0x64: // (ref null ht), (ref ht)
		return r.sleb(5)
	}
	return r.fail("unknown value type 0x%02x", c)
}

// blockType skips a block type: empty, one value type, or a type index
// (a non-negative s33) for multi-value blocks.
func (r *reader) blockType() error {
	if r.off >= len(r.b) {
		return r.fail("unexpected end")
	}
	c := r.b[r.off]
	if c == 0x40 {
		r.off++
		return nil
	}
	if c&0xc0 == 0x40 { // a one-byte negative s33: a value type
		return r.valType()
	}
	return r.sleb(5)
}

// memarg skips a memory argument: alignment (with bit 6 flagging an
// explicit memory index, multi-memory) and offset (u64 for memory64).
func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return r.uleb(10)
}

// uleb skips an unsigned LEB128 of at most maxBytes bytes.
func (r *reader) uleb(maxBytes int) error { return r.sleb(maxBytes) }

// u32s skips n u32 immediates.
func (r *reader) u32s(n int) error {
	for range n {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// instruction skips one instruction and its immediates and returns its
// class.
func (r *reader) instruction() (int, error) {
	at := r.off
	op, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case op == 0x00: // unreachable
		return opStop, nil
	case op == 0x01: // nop
		return opPlain, nil
	case op == 0x02: // block
		return opOpen, r.blockType()
	case op == 0x03: // loop
		return opLoop, r.blockType()
	case op == 0x04: // if
		return opIfOpen, r.blockType()
	case op == 0x05: // else
		return opStop, nil
	case op == 0x0b:
		return opEnd, nil
	case op == 0x0c, op == 0x0d: // br, br_if
		return opStop, r.u32s(1)
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return 0, err
		}
		if uint64(n) > uint64(len(r.b)-r.off) { // each label takes a byte at least
			return 0, r.fail("br_table of %d labels overruns the body", n)
		}
		return opStop, r.u32s(int(n) + 1)
	case op == 0x0f: // return
		return opStop, nil
	case op == 0x10: // call
		return opPlain, r.u32s(1)
	case op == 0x11: // call_indirect type table (the table a reserved 0 byte in MVP)
		return opPlain, r.u32s(2)
	case op == 0x12: // return_call
		return opStop, r.u32s(1)
	case op == 0x13: // return_call_indirect
		return opStop, r.u32s(2)
	case op == 0x14: // call_ref
		return opPlain, r.u32s(1)
	case op == 0x15: // return_call_ref
		return opStop, r.u32s(1)
	case op == 0x1a, op == 0x1b: // drop, select
		return opPlain, nil
	case op == 0x1c: // select t*
		n, err := r.u32()
		if err != nil {
			return 0, err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.valType(); err != nil {
				return 0, err
			}
		}
		return opPlain, nil
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		return opPlain, r.u32s(1)
	case op >= 0x28 && op <= 0x3e: // loads and stores
		return opPlain, r.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow
		return opPlain, r.u32s(1)
	case op == 0x41:
		return opPlain, r.sleb(5)
	case op == 0x42:
		return opPlain, r.sleb(10)
	case op == 0x43:
		return opPlain, r.skip(4)
	case op == 0x44:
		return opPlain, r.skip(8)
	case op >= 0x45 && op <= 0xc4: // numeric, sign extension
		return opPlain, nil
	case op == 0xd0: // ref.null ht
		return opPlain, r.sleb(5)
	case op == 0xd1, op == 0xd3, op == 0xd4: // ref.is_null, ref.eq, ref.as_non_null
		return opPlain, nil
	case op == 0xd2: // ref.func
		return opPlain, r.u32s(1)
	case op == 0xd5, op == 0xd6: // br_on_null, br_on_non_null
		return opStop, r.u32s(1)
	case op == 0xfc:
		return r.prefixFC()
	case op == 0xfd:
		return r.prefixFD()
	case op == 0xfe:
		return r.prefixFE()
	}
	r.off = at
	return 0, r.fail("unsupported opcode 0x%02x", op)
}

// prefixFC: saturating truncation and bulk memory and table instructions.
func (r *reader) prefixFC() (int, error) {
	at := r.off - 1
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 7: // *.trunc_sat_*
		return opPlain, nil
	case sub == 8: // memory.init data mem
		return opBulk, r.u32s(2)
	case sub == 9: // data.drop
		return opPlain, r.u32s(1)
	case sub == 10: // memory.copy mem mem
		return opBulk, r.u32s(2)
	case sub == 11: // memory.fill mem
		return opBulk, r.u32s(1)
	case sub == 12: // table.init elem table
		return opBulk, r.u32s(2)
	case sub == 13: // elem.drop
		return opPlain, r.u32s(1)
	case sub == 14: // table.copy table table
		return opBulk, r.u32s(2)
	case sub == 15, sub == 17: // table.grow, table.fill
		return opBulk, r.u32s(1)
	case sub == 16: // table.size
		return opPlain, r.u32s(1)
	}
	r.off = at
	return 0, r.fail("unsupported opcode 0xfc %d", sub)
}

// prefixFD: SIMD (fixed-width and relaxed). Only the immediates matter
// here; which sub-opcodes exist is left to the validator.
func (r *reader) prefixFD() (int, error) {
	at := r.off - 1
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 11: // v128.load*, v128.store
		return opPlain, r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		return opPlain, r.skip(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		return opPlain, r.skip(1)
	case sub >= 84 && sub <= 91: // v128.load*_lane, v128.store*_lane
		if err := r.memarg(); err != nil {
			return 0, err
		}
		return opPlain, r.skip(1)
	case sub == 92, sub == 93: // v128.load32_zero, v128.load64_zero
		return opPlain, r.memarg()
	case sub <= 0x113: // everything else, relaxed SIMD included, has no immediate
		return opPlain, nil
	}
	r.off = at
	return 0, r.fail("unsupported opcode 0xfd %d", sub)
}

// prefixFE: threads (atomic memory instructions).
func (r *reader) prefixFE() (int, error) {
	at := r.off - 1
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 2, sub >= 0x10 && sub <= 0x4e: // notify, wait32/64, atomic loads/stores/rmw
		return opPlain, r.memarg()
	case sub == 3: // atomic.fence, a reserved 0 byte
		return opPlain, r.skip(1)
	}
	r.off = at
	return 0, r.fail("unsupported opcode 0xfe %d", sub)
}

// appendS64 appends v as a signed LEB128.
func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// bodyParams returns the number of parameters of each defined function, in
// code section order.
func bodyParams(secs []section) ([]uint32, error) {
	var types []uint32 // parameter count per type
	var params []uint32
	for _, s := range secs {
		switch s.id {
		case secType:
			r := &reader{b: s.body}
			n, err := r.u32()
			if err != nil {
				return nil, err
			}
			for i := uint32(0); i < n; i++ {
				form, err := r.byte()
				if err != nil {
					return nil, err
				}
				if form != 0x60 {
					return nil, r.fail("unsupported type form 0x%02x (GC types)", form)
				}
				np, err := r.u32()
				if err != nil {
					return nil, err
				}
				for j := uint32(0); j < np; j++ {
					if err := r.valType(); err != nil {
						return nil, err
					}
				}
				nr, err := r.u32()
				if err != nil {
					return nil, err
				}
				for j := uint32(0); j < nr; j++ {
					if err := r.valType(); err != nil {
						return nil, err
					}
				}
				types = append(types, np)
			}
		case secFunction:
			r := &reader{b: s.body}
			n, err := r.u32()
			if err != nil {
				return nil, err
			}
			if uint64(n) > uint64(len(s.body)) {
				return nil, r.fail("function section overruns")
			}
			for i := uint32(0); i < n; i++ {
				t, err := r.u32()
				if err != nil {
					return nil, err
				}
				if uint64(t) >= uint64(len(types)) {
					return nil, r.fail("function %d has unknown type %d", i, t)
				}
				params = append(params, types[t])
			}
		}
	}
	return params, nil
}

// check32 refuses 64-bit memories and tables (memory64), whose bulk
// instructions take i64 lengths.
func check32(secs []section) error {
	limits := func(r *reader) error {
		flags, err := r.byte()
		if err != nil {
			return err
		}
		if flags&0x04 != 0 {
			return r.fail("64-bit memories and tables are not supported")
		}
		if err := r.uleb(10); err != nil {
			return err
		}
		if flags&1 != 0 {
			return r.uleb(10)
		}
		return nil
	}
	for _, s := range secs {
		r := &reader{b: s.body}
		switch s.id {
		case secImport:
			n, err := r.u32()
			if err != nil {
				return err
			}
			for i := uint32(0); i < n; i++ {
				if err := r.name(); err != nil {
					return err
				}
				if err := r.name(); err != nil {
					return err
				}
				kind, err := r.byte()
				if err != nil {
					return err
				}
				switch kind {
				case 0x00: // func
					_, err = r.u32()
				case 0x01: // table
					if err = r.valType(); err == nil {
						err = limits(r)
					}
				case 0x02:
					err = limits(r)
				case 0x03: // global
					if err = r.valType(); err == nil {
						_, err = r.byte()
					}
				case 0x04: // tag
					if _, err = r.byte(); err == nil {
						_, err = r.u32()
					}
				default:
					return r.fail("unknown import kind %d", kind)
				}
				if err != nil {
					return err
				}
			}
		case secMemory:
			n, err := r.u32()
			if err != nil {
				return err
			}
			for i := uint32(0); i < n; i++ {
				if err := limits(r); err != nil {
					return err
				}
			}
		case secTable:
			n, err := r.u32()
			if err != nil {
				return err
			}
			for i := uint32(0); i < n; i++ {
				if err := r.valType(); err != nil { // a 0x40 prefix (table with initializer) fails here
					return err
				}
				if err := limits(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
