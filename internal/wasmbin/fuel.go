package wasmbin

// Fuel metering: a rewrite that makes a module count its own work in a
// global, so that the host can bound a call by a budget that is a pure
// function of the module's bytes and inputs, the same on every machine.
//
// # The cost model
//
// Work is counted in runs. A run starts at a charge point and is the
// straight-line code executed unconditionally from it: it ends with, and
// includes, the first instruction that may transfer control (br, br_if,
// br_table, if, else, return, return_call*, br_on_*, unreachable, the loop
// instruction of an ordinary loop, or the body's final end). block, nop,
// calls and the end of a nested block, loop or if are counted and passed
// through: a call returns to the next instruction, and falling through an
// end is straight-line. The cost of a run is its number of instructions,
// plus, for each direct call in it to a bounded function (below), that
// function's cost. Every cost is at least 1.
//
// The charge points are:
//
//   - the entry of every function body, except a bounded function's;
//   - the header of every ordinary loop (the first instruction inside it,
//     where a branch to the loop lands, so every iteration pays);
//   - every branch to a dispatch loop (below) that may land before itself;
//     it pays the run at the loop's header, and falling into a dispatch
//     loop is straight-line: the run before it goes on through its header.
//
// A charge point's cost is subtracted from the fuel global and checked
// (the charge below): each charge point is a check.
//
// Dispatch loops. Compilers that turn a function's control flow into one
// loop around a jump table (Go's WebAssembly port does it for every
// function that calls) jump between blocks by storing the target's number
// in a local and branching back to
//
//	loop                  ;; targeted by br instructions only
//	  block ... block     ;; n nested blocks
//	    local.get $x
//	    br_table ...      ;; to the end of one of the blocks
//
// so the header of such a loop is passed at every jump, forward or
// backward, and it is the hottest charge point of a Go guest. A loop of
// that shape that no conditional branch (br_if, br_table, br_on_*) targets
// is a dispatch loop. A branch to it preceded by i32.const K and
// local.set $x, whose br_table sends K to a block that ends after the
// branch, is a forward jump: it lands after itself. A forward jump
// subtracts the cost of the header run it passes from the fuel global
// without checking it; the next check traps if that made it negative. A
// function that has forward jumps also checks (without charging) before
// it returns (return, return_call*, a branch to the body's label, the
// final end), so a call never returns with its fuel negative. Forward
// jumps so cost the fuel a charge at the header would cost, without a
// check each.
//
// Bounded functions. A function is bounded when it has no loop and no
// indirect call (call_indirect, call_ref, return_call_indirect,
// return_call_ref) and each of its direct calls goes to an import or to a
// bounded function. The bounded functions are the least set closed under
// that rule, so they call each other without cycles. A bounded function is
// not charged at entry unless the host can call it (it is exported or the
// start function); its cost is that of its entry run, which calls to it
// in a caller's run add to that run.
//
// Bulk memory and table instructions (memory.copy, memory.fill,
// memory.init, table.copy, table.fill, table.init, table.grow) do work in
// proportion to their length operand, so each also pays length/16 (bytes or
// elements, rounded down) right before it runs, through a scratch i32 local
// the pass appends to the function's locals.
//
// Fuel is therefore a deterministic measure of work that grows with the
// calls, loop iterations, jumps and bulk lengths a guest executes, not an
// exact instruction count: code past the first branch of a run (an if's
// arms, the code after a br_if, a bounded function called there) is paid
// for by the charge points, not instruction by instruction. Host functions
// cost nothing. The charges depend on nothing but the module's bytes.
//
// # Every unbounded execution is charged
//
// Within one activation (one call of a function), control moves backward
// only through a branch to a loop label, and every such branch passes a
// charge point: the header of an ordinary loop, or the branch itself for a
// dispatch loop. The exception, a forward jump, lands strictly after the
// branch (its constant K reaches the br_table unchanged: nothing runs
// between the loop's header and the br_table but blocks and local.get,
// and nothing can land between i32.const, local.set and br). So between
// two charge points an activation runs each instruction of its body at
// most once, plus the dispatch's header once per forward jump: a number
// fixed by the body. An activation of a function that is not bounded
// starts at a charge point. An activation of a bounded function runs at
// most its body plus, through acyclic calls, its callees' bodies: again a
// number fixed by the module. Host functions return within their own
// bounds. So a call from the host that passes c charge points executes at
// most K*(c+1) instructions, K a constant of the module, and every charge
// point subtracts at least 1 and traps once the global is negative: an
// execution that never ends (a loop, unbounded recursion, mutual
// recursion, a cycle through call_indirect, endless tail calls) exhausts
// any budget.
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
// A forward jump has the first four instructions, a check before an exit
// of a function with forward jumps the last six. The fuel global is a new
// mutable i64, appended after every existing global so that no global
// index moves, exported as FuelExport, and initialised to FuelUnmetered.
// Before a bulk instruction the pass inserts the same test after
// subtracting length>>4, with the length parked in the scratch local
// (local.set, the charge, local.get). The host stores a budget in the
// global before a call. Exhaustion is encoded in the global itself: it
// goes negative only when the budget is spent, and the guest then traps
// at the next check (at once, unless a forward jump spent it; then within
// a bounded number of instructions and before the call returns). So after
// a trap a negative fuel value means "budget exhausted" (a trap of the
// guest's own between a forward jump that spent the budget and the next
// check counts as such: the budget was spent), and any other trap leaves
// it non-negative. No function or import is added, so no function index
// moves, and the name section, elements and data stay valid as they are.

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
	// Bounded is the number of bounded function bodies left uncharged.
	Bounded int
	// Loops is the number of loop headers charged.
	Loops int
	// Branches is the number of branches to dispatch loops charged in
	// place of the loop's header; Forward the number of forward jumps,
	// which subtract the same cost without a check.
	Branches, Forward int
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
	secStart    = 8
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
	imports, roots, err := funcRoots(secs)
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
			body, err := instrumentCode(s.body, info.Global, params, imports, roots, &info)
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
// each body's number of parameters, imports the number of imported
// functions and roots the function indexes the host can call (exports and
// the start function).
func instrumentCode(code []byte, fuel uint32, params []uint32, imports uint32, roots []uint32, info *FuelInfo) ([]byte, error) {
	bounded, err := boundedFuncs(code, imports, len(params))
	if err != nil {
		return nil, err
	}
	root := make([]bool, len(params))
	for _, f := range roots {
		if f >= imports && f-imports < uint32(len(root)) {
			root[f-imports] = true
		}
	}
	r := &reader{b: code}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	// Charges make a body about a fifth longer in practice.
	out := appendU32(make([]byte, 0, len(code)+len(code)/2), n)
	if int64(n) != int64(len(params)) {
		return nil, r.fail("%d function bodies for %d functions", n, len(params))
	}
	d := &decoder{fuel: fuel, imports: imports, bounded: bounded}
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.off
		if err := r.skip(int(size)); err != nil {
			return nil, err
		}
		body, err := d.body(code[start:r.off], params[i], bounded[i] >= 0 && !root[i])
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
		if d.entry {
			info.Functions++
		} else if bounded[i] >= 0 && !root[i] {
			info.Bounded++
		}
		info.Loops += d.loops
		info.Branches += d.branches
		info.Forward += d.forward
		info.Bulk += d.bulk
	}
	if r.off != len(code) {
		return nil, r.fail("trailing bytes after the code section's bodies")
	}
	return out, nil
}

// maxBoundedCost caps the cost of a bounded function, which folds the
// costs of the bounded functions its entry run calls (a chain of calls
// that each call the next twice would double it at every step).
const maxBoundedCost = 1 << 32

// boundedFuncs finds the bounded functions (see the cost model): those
// without a loop or an indirect call whose direct calls all go to imports
// or to other bounded functions. It returns, for every defined function,
// its cost (that of its entry run, calls to bounded functions included)
// when it is bounded, and -1 when it is not. Being the least set closed
// under that rule, the bounded functions call each other without cycles.
func boundedFuncs(code []byte, imports uint32, nfuncs int) ([]int64, error) {
	r := &reader{b: code}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int64(n) != int64(nfuncs) {
		return nil, r.fail("%d function bodies for %d functions", n, nfuncs)
	}
	// Per function: its entry run's own length, its direct callees
	// (defined functions, as code indexes) in calls[first[i]:first[i+1]],
	// the first entryCalls[i] of them in the entry run; or no entry in
	// calls and base -1 when it cannot be bounded.
	base := make([]int64, n)
	first := make([]int, n+1)
	entryCalls := make([]int, n)
	var calls []uint32
	for i := uint32(0); i < n; i++ {
		first[i] = len(calls)
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.off
		if err := r.skip(int(size)); err != nil {
			return nil, err
		}
		if err := summarize(code[start:r.off], imports, &base[i], &calls, &entryCalls[i]); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
	}
	first[n] = len(calls)

	// The least fixed point, in time linear in the calls: a function is
	// bounded once all its callees are. waiting counts a candidate's calls
	// to functions not yet found bounded; callers lists, for each
	// function, the candidates calling it (once per call), in
	// callers[at[f]:at[f+1]].
	waiting := make([]int, n)
	at := make([]int, n+2)
	for i := range n {
		if base[i] < 0 {
			continue
		}
		for _, f := range calls[first[i]:first[i+1]] {
			waiting[i]++
			if f < n {
				at[f+2]++
			}
		}
	}
	for f := 2; f < len(at); f++ {
		at[f] += at[f-1]
	}
	callers := make([]uint32, at[n+1])
	for i := range n {
		if base[i] < 0 {
			continue
		}
		for _, f := range calls[first[i]:first[i+1]] {
			if f < n {
				callers[at[f+1]] = i
				at[f+1]++
			}
		}
	}
	cost := make([]int64, n)
	var ready []uint32
	for i := range n {
		cost[i] = -1
		if base[i] >= 0 && waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		f := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		c := base[f]
		for _, g := range calls[first[f] : first[f]+entryCalls[f]] {
			c = min(c+cost[g], maxBoundedCost)
		}
		cost[f] = c
		for _, i := range callers[at[f]:at[f+1]] {
			if waiting[i]--; waiting[i] == 0 {
				ready = append(ready, i)
			}
		}
	}
	return cost, nil
}

// summarize reads one body for boundedFuncs: it sets base to the length of
// its entry run, or to -1 when it has a loop or an indirect call, appends
// its direct calls to defined functions to calls (none when base is -1),
// and sets entry to the number of them in the entry run.
func summarize(body []byte, imports uint32, base *int64, calls *[]uint32, entry *int) error {
	r := &reader{b: body}
	if err := r.skipLocals(); err != nil {
		return err
	}
	first := len(*calls)
	inRun, depth := true, 1
	for depth > 0 {
		if r.off >= len(body) {
			return r.fail("function body ends inside a block")
		}
		at := r.off
		class, err := r.instruction()
		if err != nil {
			return err
		}
		switch op := body[at]; {
		case class == opLoop, op == 0x11, op == 0x13, op == 0x14, op == 0x15: // loop, indirect calls
			*base, *calls, *entry = -1, (*calls)[:first], 0
			return nil // the rest is read when it is instrumented
		case op == 0x10, op == 0x12: // call, return_call
			f, _ := (&reader{b: body, off: at + 1}).u32() // read once already without error
			if f >= imports {
				*calls = append(*calls, f-imports)
				if inRun {
					*entry++
				}
			}
		}
		if inRun {
			*base++
		}
		switch class {
		case opOpen, opIfOpen:
			depth++
		case opEnd:
			depth--
		}
		if class == opStop || class == opIfOpen {
			inRun = false
		}
	}
	return nil
}

// skipLocals skips a body's local declarations.
func (r *reader) skipLocals() error {
	groups, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < groups; i++ {
		if _, err := r.u32(); err != nil {
			return err
		}
		if err := r.valType(); err != nil {
			return err
		}
	}
	return nil
}

// Instruction classes for the cost model.
const (
	opPlain  = iota // falls through to the next instruction
	opStop          // may transfer control: ends a straight-line run
	opLoop          // an ordinary loop: ends a run, its header is a charge point
	opOpen          // block: opens a label
	opEnd           // closes a label
	opIfOpen        // if: opens a label and ends a run
	opBulk          // a bulk instruction: falls through, charged by length
	// A dispatch loop, charged at the branches to it: falling into it is
	// straight-line. The decoder turns an opLoop into one once it has
	// seen the whole body.
	opDispatch
)

// Instruction flags.
const (
	flagCond    = 1 << iota // a loop that a conditional branch targets
	flagExit                // may leave the function
	flagForward             // a forward jump (see the cost model)
)

// decoder holds the per-body buffers, reused across bodies.
type decoder struct {
	fuel    uint32
	imports uint32  // imported functions
	bounded []int64 // each defined function's cost when bounded, or -1
	b       []byte  // the body being instrumented
	starts  []int   // offset of each instruction in the body
	class   []uint8 // its class
	// For block, loop and if, the index of the matching end; for br,
	// the index of the instruction opening its target (-1: the body's
	// label); -1 otherwise.
	link   []int32
	flag   []uint8 // flagCond, flagExit, flagForward
	labels []int32 // the open labels while decoding
	out    []byte

	entry    bool // whether the body is charged at entry
	loops    int
	branches int
	forward  int
	bulk     int
}

// body returns an instrumented copy of one function body (locals and
// expression) of a function with the given number of parameters;
// uncharged says the function is bounded and not called by the host, and
// needs no entry charge.
func (d *decoder) body(b []byte, params uint32, uncharged bool) ([]byte, error) {
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
	if nlocals >= math.MaxUint32 { // room for the appended local
		return nil, r.fail("too many locals")
	}
	localsStart, exprStart := groups0(b), r.off
	d.b = b
	d.starts, d.class, d.link, d.flag, d.labels = d.starts[:0], d.class[:0], d.link[:0], d.flag[:0], d.labels[:0]
	d.entry, d.loops, d.branches, d.forward, d.bulk = false, 0, 0, 0, 0
	depth := 1
	for depth > 0 {
		if r.off >= len(b) {
			return nil, r.fail("function body ends inside a block")
		}
		at := r.off
		d.starts = append(d.starts, at)
		class, err := r.instruction()
		if err != nil {
			return nil, err
		}
		i := int32(len(d.class))
		link, flag := int32(-1), uint8(0)
		switch class {
		case opOpen, opLoop, opIfOpen:
			depth++
			d.labels = append(d.labels, i)
		case opEnd:
			depth--
			if depth > 0 {
				open := d.labels[len(d.labels)-1]
				d.labels = d.labels[:len(d.labels)-1]
				d.link[open] = i
			}
		case opStop:
			link, flag = d.branch(at)
		}
		if class == opEnd && depth == 0 {
			class, flag = opStop, flagExit // the body's final end
		}
		if class == opBulk {
			d.bulk++
		}
		d.class = append(d.class, uint8(class))
		d.link = append(d.link, link)
		d.flag = append(d.flag, flag)
	}
	if r.off != len(b) {
		return nil, r.fail("bytes after the function body's end")
	}
	// Only now are all the branches to each loop known.
	for i, c := range d.class {
		if c == opLoop && d.flag[i]&flagCond == 0 && d.dispatch(i) >= 0 {
			d.class[i] = opDispatch
		}
	}
	for i, c := range d.class {
		if t := d.link[i]; c == opStop && t >= 0 && d.class[t] == opDispatch && d.isForward(i, int(t)) {
			d.flag[i] |= flagForward
			d.forward++
		}
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
	if !uncharged {
		out = d.charge(out, d.run(0))
		d.entry = true
	}
	for i, start := range d.starts {
		end := len(b)
		if i+1 < len(d.starts) {
			end = d.starts[i+1]
		}
		switch t := d.link[i]; {
		case d.class[i] == opBulk:
			out = d.chargeLength(out, scratch)
		case d.flag[i]&flagForward != 0:
			out = d.subtract(out, d.run(int(t)+1))
		case d.class[i] == opStop && t >= 0 && d.class[t] == opDispatch:
			out = d.charge(out, d.run(int(t)+1))
			d.branches++
		case d.flag[i]&flagExit != 0 && d.forward > 0:
			out = d.exhausted(out)
		}
		out = append(out, b[start:end]...)
		if d.class[i] == opLoop {
			out = d.charge(out, d.run(i+1))
			d.loops++
		}
	}
	d.out = out
	return out, nil
}

// branch returns, for a branch instruction at offset at, the index of the
// instruction opening its target label if it is a br (-1 for the body's
// label, and for other instructions), and flagExit if it may leave the
// function. It marks the loops that a conditional branch targets.
func (d *decoder) branch(at int) (int32, uint8) {
	r := &reader{b: d.b, off: at + 1}
	var flag uint8
	label := func(l uint32) int32 {
		if uint64(l) >= uint64(len(d.labels)) {
			flag = flagExit
			return -1
		}
		return d.labels[len(d.labels)-1-int(l)]
	}
	cond := func(l uint32) {
		if t := label(l); t >= 0 && d.class[t] == opLoop {
			d.flag[t] |= flagCond
		}
	}
	switch d.b[at] {
	case 0x0c: // br
		l, _ := r.u32() // read once already without error
		return label(l), flag
	case 0x0d, 0xd5, 0xd6: // br_if, br_on_null, br_on_non_null
		l, _ := r.u32()
		cond(l)
	case 0x0e: // br_table
		n, _ := r.u32()
		for range uint64(n) + 1 {
			l, _ := r.u32()
			cond(l)
		}
	case 0x0f, 0x12, 0x13, 0x15: // return, return_call*
		flag = flagExit
	}
	return -1, flag
}

// dispatch returns, when the loop at instruction i opens with a dispatch
// (block*, local.get $x, br_table), the index of its br_table; -1
// otherwise.
func (d *decoder) dispatch(i int) int {
	j := i + 1
	for j < len(d.class) && d.b[d.starts[j]] == 0x02 { // block
		j++
	}
	if j+1 >= len(d.class) || d.b[d.starts[j]] != 0x20 || d.b[d.starts[j+1]] != 0x0e { // local.get, br_table
		return -1
	}
	return j + 1
}

// isForward reports whether the br at instruction i, a branch to the
// dispatch loop opening at instruction loop, is a forward jump: it is
// preceded by i32.const K and local.set $x, $x is the local the dispatch
// reads, and the dispatch's br_table sends K to one of the dispatch's
// blocks that ends after the br.
func (d *decoder) isForward(i, loop int) bool {
	if i < 2 || d.b[d.starts[i-1]] != 0x21 || d.b[d.starts[i-2]] != 0x41 { // local.set, i32.const
		return false
	}
	bt := d.dispatch(loop)
	x, _ := (&reader{b: d.b, off: d.starts[i-1] + 1}).u32()
	y, _ := (&reader{b: d.b, off: d.starts[bt-1] + 1}).u32()
	k, err := (&reader{b: d.b, off: d.starts[i-2] + 1}).s32()
	if x != y || err != nil {
		return false
	}
	// The br_table's label for index K: the default past the end.
	r := &reader{b: d.b, off: d.starts[bt] + 1}
	n, _ := r.u32()
	var l uint32
	for range min(uint64(uint32(k)), uint64(n)) + 1 {
		l, _ = r.u32()
	}
	blocks := bt - loop - 2 // between the loop and local.get
	if uint64(l) >= uint64(blocks) {
		return false // the loop itself, or a label outside it
	}
	return int(d.link[bt-2-int(l)]) > i // the end of the block l deep
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

// run returns the cost of the run starting at instruction i: one per
// instruction up to and including the first that may transfer control,
// plus the cost of each bounded function it calls directly. A dispatch
// loop is passed through: falling into it is straight-line.
func (d *decoder) run(i int) int64 {
	var cost int64
	for ; i < len(d.class); i++ {
		cost++
		if op := d.b[d.starts[i]]; op == 0x10 || op == 0x12 { // call, return_call
			f, _ := (&reader{b: d.b, off: d.starts[i] + 1}).u32()
			if f >= d.imports && uint64(f-d.imports) < uint64(len(d.bounded)) {
				cost += max(d.bounded[f-d.imports], 0)
			}
		}
		if c := d.class[i]; c == opStop || c == opLoop || c == opIfOpen {
			break
		}
	}
	return min(cost, maxBoundedCost)
}

// charge appends a charge of cost: subtract, then check.
func (d *decoder) charge(out []byte, cost int64) []byte {
	return d.exhausted(d.subtract(out, cost))
}

// subtract appends the subtraction of cost from the fuel global.
func (d *decoder) subtract(out []byte, cost int64) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, d.fuel)
	out = append(out, 0x42) // i64.const
	out = appendS64(out, cost)
	out = append(out, 0x7d, 0x24) // i64.sub, global.set
	return appendU32(out, d.fuel)
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

// funcRoots returns the number of imported functions and the functions the
// host can call: the exported ones and the start function.
func funcRoots(secs []section) (imports uint32, roots []uint32, err error) {
	for _, s := range secs {
		r := &reader{b: s.body}
		switch s.id {
		case secImport:
			n, err := r.u32()
			if err != nil {
				return 0, nil, err
			}
			for i := uint32(0); i < n; i++ {
				if err := r.name(); err != nil {
					return 0, nil, err
				}
				if err := r.name(); err != nil {
					return 0, nil, err
				}
				kind, err := r.byte()
				if err != nil {
					return 0, nil, err
				}
				switch kind {
				case 0x00: // func
					imports++
					_, err = r.u32()
				case 0x01: // table
					if err = r.valType(); err == nil {
						err = r.limits()
					}
				case 0x02: // memory
					err = r.limits()
				case 0x03: // global
					if err = r.valType(); err == nil {
						_, err = r.byte()
					}
				case 0x04: // tag
					if _, err = r.byte(); err == nil {
						_, err = r.u32()
					}
				default:
					return 0, nil, r.fail("unknown import kind %d", kind)
				}
				if err != nil {
					return 0, nil, err
				}
			}
		case secExport:
			n, err := r.u32()
			if err != nil {
				return 0, nil, err
			}
			for i := uint32(0); i < n; i++ {
				if err := r.name(); err != nil {
					return 0, nil, err
				}
				kind, err := r.byte()
				if err != nil {
					return 0, nil, err
				}
				f, err := r.u32()
				if err != nil {
					return 0, nil, err
				}
				if kind == 0x00 {
					roots = append(roots, f)
				}
			}
		case secStart:
			f, err := r.u32()
			if err != nil {
				return 0, nil, err
			}
			roots = append(roots, f)
		}
	}
	return imports, roots, nil
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
