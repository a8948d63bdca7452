;; A module that uses one instruction of each immediate shape the fuel pass
;; decodes: MVP control and memory instructions, multi-value blocks with a
;; type index, sign extension, saturating truncation, bulk memory and table
;; instructions, reference types, SIMD (memarg, lane, v128.const, shuffle,
;; lane loads), threads (atomics, fence) and tail calls. Its exports compute
;; numbers from these instructions, so that the instrumented module can be
;; checked to compute the same ones.
;;
;; Rebuild with: wat2wasm --enable-threads --enable-tail-call ops.wat -o ops.wasm
(module
  (type $pair (func (param i32) (result i32 i32)))
  (type $i2i (func (param i32) (result i32)))
  (import "env" "g" (global $imported i32))
  (memory 1 1)
  (table $t 4 funcref)
  (table $refs 2 externref)
  (global $counter (mut i32) (i32.const 0))
  (global $k i64 (i64.const 7))
  (data $d "0123456789abcdef")
  (elem $e func $double $inc)
  (elem declare func $inc)

  (func $double (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
  (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))

  ;; sum(0..n) with a loop, br_if and br_table.
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    block $out
      loop $top
        local.get $i
        local.get $n
        i32.ge_u
        br_if $out
        local.get $s
        local.get $i
        i32.add
        local.set $s
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        block $a
          block $b
            local.get $i
            i32.const 1
            i32.and
            br_table $a $b $a
          end
          global.get $counter
          i32.const 1
          i32.add
          global.set $counter
        end
        br $top
      end
    end
    local.get $s)

  ;; Multi-value block typed by index, if/else, select with a type, sign
  ;; extension, saturating truncation, calls, indirect calls, return_call.
  (func (export "misc") (param $x i32) (result i32)
    (local $r externref) (local $f f64)
    local.get $x
    block (type $pair)
      i32.const 3
    end
    i32.add
    local.get $x
    if (result i32)
      i32.const 10
    else
      i32.const 20
    end
    i32.add
    i32.const 1
    i32.const 2
    local.get $x
    select (result i32)
    i32.add
    i32.const 0xff
    i32.extend8_s
    i32.add
    f64.const 1e300
    i32.trunc_sat_f64_s
    i32.const 0x7fffffff
    i32.eq
    i32.add
    i64.const -5
    i64.extend32_s
    i32.wrap_i64
    i32.add
    f32.const 1.5
    i32.trunc_sat_f32_u
    i32.add
    global.get $imported
    i32.add
    global.get $k
    i32.wrap_i64
    i32.add
    ;; table.init / call_indirect / ref.func / ref.is_null / table.* / elem.drop
    i32.const 0
    i32.const 0
    i32.const 2
    table.init $t $e
    elem.drop $e
    i32.const 5
    i32.const 1
    call_indirect $t (type $i2i)
    i32.add
    ref.func $inc
    ref.is_null
    i32.add
    i32.const 2
    ref.func $inc
    table.set $t
    i32.const 7
    i32.const 2
    call_indirect $t (type $i2i)
    i32.add
    table.size $t
    i32.add
    ref.null func
    i32.const 1
    table.grow $t
    i32.add
    i32.const 3
    ref.null func
    i32.const 1
    table.fill $t
    i32.const 0
    i32.const 1
    i32.const 1
    table.copy $t $t
    i32.const 0
    table.get $refs
    ref.is_null
    i32.add
    local.get $r
    ref.is_null
    i32.add
    ;; bulk memory
    i32.const 100
    i32.const 0
    i32.const 16
    memory.init $d
    data.drop $d
    i32.const 200
    i32.const 100
    i32.const 16
    memory.copy
    i32.const 300
    i32.const 0x41
    i32.const 4
    memory.fill
    i32.const 203
    i32.load8_u offset=0
    i32.add
    i32.const 300
    i32.load16_s align=1
    i32.add
    memory.size
    i32.add
    i32.const 0
    memory.grow
    i32.add
    i64.const 9
    i64.const 4
    i64.rem_u
    i32.wrap_i64
    i32.add
    return_call $double)

  (func (export "simd") (param $x i32) (result i32)
    (local $v v128)
    v128.const i32x4 1 2 3 4
    local.get $x
    i32x4.splat
    i32x4.add
    local.set $v
    i32.const 400
    local.get $v
    v128.store offset=0 align=16
    i32.const 400
    v128.load
    i32.const 404
    local.get $v
    v128.load32_lane 2
    i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
    i32.const 400
    v128.load64_zero
    i32x4.add
    i32x4.extract_lane 1
    local.get $v
    i32.const 9
    i32x4.replace_lane 3
    i32x4.extract_lane 3
    i32.add
    i32.const 500
    local.get $v
    v128.store32_lane 1
    i32.const 500
    i32.load
    i32.add
    i32.const 400
    v128.load8_splat
    i8x16.extract_lane_u 15
    i32.add
    local.get $v
    v128.any_true
    i32.add
    local.get $v
    i32x4.bitmask
    i32.add)

  (func (export "atomics") (param $x i32) (result i32)
    i32.const 600
    local.get $x
    i32.atomic.store
    atomic.fence
    i32.const 600
    i32.const 5
    i32.atomic.rmw.add
    i32.const 600
    i32.atomic.load
    i32.add
    i32.const 600
    i32.const 0
    memory.atomic.notify
    i32.add)

  ;; A call chain for charge accounting: 3 entries.
  (func $leaf (result i32) i32.const 1)
  (func $mid (result i32) call $leaf call $leaf i32.add)
  (func (export "chain") (result i32) call $mid)
)
