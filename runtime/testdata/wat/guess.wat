;; guess.wat: a complete Terrarium environment (ABI v1, docs/abi.md),
;; written by hand in the WebAssembly text format.
;;
;; The agent must find a secret whole number between 1 and 100 (task 0),
;; 1000 (task 1) or 10000 (task 2) with the "guess" tool, which answers
;; "higher", "lower" or "correct", and then reply with the number. Reward 1
;; if the final answer is the secret, else 0. The secret is a function of
;; (seed, task) only.
;;
;; Build:  wat2wasm guess.wat -o guess.wasm   (Debian package wabt)
;;
;; It reads requests with a small key scanner rather than a JSON parser: it
;; finds "role", "id", "name", "arguments" and "content" keys, which is
;; enough for actions shaped like OpenAI assistant messages (each tool call's
;; "id" before its "function", as OpenAI and the Go host send them). An
;; environment in C or Rust would use a real JSON library instead.
(module
  ;; The only import: terrarium.log(level, ptr, len).
  (import "terrarium" "log" (func $log (param $level i32) (param $ptr i32) (param $len i32)))

  ;; Two pages to start; terrarium_buffer grows memory for large requests.
  (memory (export "memory") 2)

  ;; Memory layout:
  ;;   [0, 4096)          constant strings, NUL-terminated (data below)
  ;;   [4096, 65536)      the reply of the last call (terrarium_result_ptr)
  ;;   [65536, ...)       the request buffer (terrarium_buffer)
  (global $REPLY i32 (i32.const 4096))
  (global $REQ i32 (i32.const 65536))

  ;; Episode state.
  (global $state (mut i32) (i32.const 0))    ;; 0 no episode, 1 running, 2 ended
  (global $secret (mut i32) (i32.const 0))
  (global $guesses (mut i32) (i32.const 0))  ;; valid guesses so far
  (global $answer (mut i32) (i32.const -1))  ;; the final answer, -1 if none or not a number

  (global $out (mut i32) (i32.const 4096))   ;; write cursor in the reply area
  (global $reply_len (mut i32) (i32.const 0))
  (global $req_cap (mut i32) (i32.const 0))  ;; size of the last buffer handed out

  ;; ---- Constant strings -------------------------------------------------
  (global $S_SPEC i32 (i32.const 0))
  (data (i32.const 0) "{\"name\":\"guess\",\"version\":\"1.0.0\",\"description\":\"Find a secret number with a higher/lower oracle.\",\"tasks\":3,\"max_turns\":20}\00")
  (global $S_OBS_A i32 (i32.const 256))
  (data (i32.const 256) "{\"messages\":[{\"role\":\"user\",\"content\":\"I am thinking of a whole number between 1 and \00")
  (global $S_OBS_B i32 (i32.const 384))
  (data (i32.const 384) ". Find it with the guess tool, then reply with the number alone.\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"guess\",\"description\":\"Compare a guess with the secret number: the result is higher, lower or correct.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}}}]}\00")
  (global $S_STEP_OPEN i32 (i32.const 896))
  (data (i32.const 896) "{\"messages\":[\00")
  (global $S_STEP_MORE i32 (i32.const 960))
  (data (i32.const 960) "],\"done\":false}\00")
  (global $S_STEP_DONE i32 (i32.const 1024))
  (data (i32.const 1024) "{\"messages\":[],\"done\":true}\00")
  (global $S_TOOL_A i32 (i32.const 1088))
  (data (i32.const 1088) "{\"role\":\"tool\",\"tool_call_id\":\00")
  (global $S_TOOL_B i32 (i32.const 1152))
  (data (i32.const 1152) ",\"name\":\"guess\",\"content\":\"\00")
  (global $S_TOOL_C i32 (i32.const 1216))
  (data (i32.const 1216) "\"}\00")
  (global $S_HIGHER i32 (i32.const 1280))
  (data (i32.const 1280) "higher\00")
  (global $S_LOWER i32 (i32.const 1344))
  (data (i32.const 1344) "lower\00")
  (global $S_CORRECT i32 (i32.const 1408))
  (data (i32.const 1408) "correct\00")
  ;; Tool errors: {"error": ...} as the tool message's content, so JSON
  ;; inside a JSON string.
  (global $S_BAD_ARGS i32 (i32.const 1472))
  (data (i32.const 1472) "{\\\"error\\\":\\\"arguments must be an object with an integer n\\\"}\00")
  (global $S_BAD_TOOL i32 (i32.const 1600))
  (data (i32.const 1600) "{\\\"error\\\":\\\"unknown tool; the only tool is guess\\\"}\00")
  (global $S_SCORE_A i32 (i32.const 1728))
  (data (i32.const 1728) "{\"reward\":\00")
  (global $S_SCORE_B i32 (i32.const 1792))
  (data (i32.const 1792) ",\"components\":{\"guesses\":\00")
  (global $S_SCORE_C i32 (i32.const 1856))
  (data (i32.const 1856) "}}\00")
  (global $S_ORACLE_CALL i32 (i32.const 1920))
  (data (i32.const 1920) "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"call_oracle\",\"type\":\"function\",\"function\":{\"name\":\"guess\",\"arguments\":\"{\\\"n\\\":\00")
  (global $S_ORACLE_CALL_END i32 (i32.const 2112))
  (data (i32.const 2112) "}\"}}]}\00")
  (global $S_ORACLE_ANSWER i32 (i32.const 2176))
  (data (i32.const 2176) "{\"role\":\"assistant\",\"content\":\"\00")
  (global $S_ORACLE_ANSWER_END i32 (i32.const 2240))
  (data (i32.const 2240) "\"}\00")
  ;; abi.Error replies.
  (global $E_BEFORE i32 (i32.const 2304))
  (data (i32.const 2304) "{\"error\":\"step before reset\"}\00")
  (global $E_ENDED i32 (i32.const 2368))
  (data (i32.const 2368) "{\"error\":\"step after the episode ended\"}\00")
  (global $E_ROLE i32 (i32.const 2432))
  (data (i32.const 2432) "{\"error\":\"the action must be a JSON object with role \\\"assistant\\\"\"}\00")
  (global $E_TASK i32 (i32.const 2560))
  (data (i32.const 2560) "{\"error\":\"task out of range: this environment has tasks 0, 1 and 2\"}\00")
  (global $E_SCORE i32 (i32.const 2688))
  (data (i32.const 2688) "{\"error\":\"score before reset\"}\00")
  (global $E_ORACLE i32 (i32.const 2752))
  (data (i32.const 2752) "{\"error\":\"oracle before reset\"}\00")
  (global $E_CALLS i32 (i32.const 2816))
  (data (i32.const 2816) "{\"error\":\"malformed tool call id, an id over 256 bytes or over 64 calls\"}\00")
  ;; Keys and values the scanner looks for.
  (global $K_ROLE i32 (i32.const 2944))
  (data (i32.const 2944) "\"role\"\00")
  (global $K_ASSISTANT i32 (i32.const 2976))
  (data (i32.const 2976) "\"assistant\"\00")
  (global $K_ID i32 (i32.const 3008))
  (data (i32.const 3008) "\"id\"\00")
  (global $K_NAME i32 (i32.const 3040))
  (data (i32.const 3040) "\"name\"\00")
  (global $K_GUESS i32 (i32.const 3072))
  (data (i32.const 3072) "\"guess\"\00")
  (global $K_ARGS i32 (i32.const 3104))
  (data (i32.const 3104) "\"arguments\"\00")
  (global $K_CONTENT i32 (i32.const 3136))
  (data (i32.const 3136) "\"content\"\00")
  (global $K_N i32 (i32.const 3168)) ;; the key n inside the arguments string: \"n\"
  (data (i32.const 3168) "\\\"n\\\"\00")
  (global $S_LOG i32 (i32.const 3200))
  (data (i32.const 3200) "episode started\00")

  ;; ---- Writing the reply ------------------------------------------------
  (func $begin (global.set $out (global.get $REPLY)))

  (func $byte (param $b i32)
    (i32.store8 (global.get $out) (local.get $b))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  ;; $emit appends a NUL-terminated constant.
  (func $emit (param $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (local.get $s))))
        (call $byte (i32.load8_u (local.get $s)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $next))))

  ;; $emit_range appends the bytes [from, to).
  (func $emit_range (param $from i32) (param $to i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
        (call $byte (i32.load8_u (local.get $from)))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (br $next))))

  ;; $emit_u32 appends n in decimal: digits backwards, then reversed.
  (func $emit_u32 (param $n i32)
    (local $i i32) (local $j i32) (local $t i32)
    (local.set $i (global.get $out))
    (loop $digit
      (call $byte (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (local.set $j (i32.sub (global.get $out) (i32.const 1)))
    (block $done
      (loop $swap
        (br_if $done (i32.ge_u (local.get $i) (local.get $j)))
        (local.set $t (i32.load8_u (local.get $i)))
        (i32.store8 (local.get $i) (i32.load8_u (local.get $j)))
        (i32.store8 (local.get $j) (local.get $t))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $swap))))

  ;; $reply ends a call: the reply is [REPLY, out).
  (func $reply (param $status i32) (result i32)
    (global.set $reply_len (i32.sub (global.get $out) (global.get $REPLY)))
    (local.get $status))

  ;; $fail replies with a non-OK status and an abi.Error message.
  (func $fail (param $status i32) (param $msg i32) (result i32)
    (call $begin)
    (call $emit (local.get $msg))
    (call $reply (local.get $status)))

  ;; ---- Reading the request ----------------------------------------------
  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.sub (local.get $p) (local.get $s)))

  ;; $match reports whether the constant pat occurs at p, within end.
  (func $match (param $p i32) (param $end i32) (param $pat i32) (result i32)
    (loop $next
      (if (i32.eqz (i32.load8_u (local.get $pat))) (then (return (i32.const 1))))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.load8_u (local.get $pat)))
        (then (return (i32.const 0))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $pat (i32.add (local.get $pat) (i32.const 1)))
      (br $next))
    (unreachable))

  ;; $find returns the position just after the first pat in [p, end), or -1.
  (func $find (param $p i32) (param $end i32) (param $pat i32) (result i32)
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (local.get $p) (local.get $end)))
        (if (call $match (local.get $p) (local.get $end) (local.get $pat))
          (then (return (i32.add (local.get $p) (call $strlen (local.get $pat))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  (func $skip_ws (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.eqz (i32.or
          (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
          (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; $value finds the first occurrence of key (quotes included) in [p, end)
  ;; that is followed by a colon and returns the position of its value, or -1.
  (func $value (param $p i32) (param $end i32) (param $key i32) (result i32)
    (local $q i32)
    (loop $next
      (local.set $p (call $find (local.get $p) (local.get $end) (local.get $key)))
      (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1))))
      (local.set $q (call $skip_ws (local.get $p) (local.get $end)))
      (if (i32.and (i32.lt_u (local.get $q) (local.get $end))
                   (i32.eq (i32.load8_u (local.get $q)) (i32.const 58))) ;; ':'
        (then (return (call $skip_ws (i32.add (local.get $q) (i32.const 1)) (local.get $end)))))
      (br $next))
    (unreachable))

  ;; $string_end takes the position of an opening quote and returns the
  ;; position of the closing one, or -1.
  (func $string_end (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)) (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.eq (local.get $c) (i32.const 34)) (then (return (local.get $p))))
        (if (i32.eq (local.get $c) (i32.const 92)) ;; backslash: skip the escaped byte
          (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; $int parses 1 to 9 decimal digits at p, or returns -1.
  (func $int (param $p i32) (param $end i32) (result i32)
    (local $n i32) (local $digits i32) (local $d i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $d) (i32.const 9)))
        (if (i32.eq (local.get $digits) (i32.const 9)) (then (return (i32.const -1))))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (local.get $d)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (if (result i32) (local.get $digits) (then (local.get $n)) (else (i32.const -1))))

  ;; ---- The secret -------------------------------------------------------
  ;; $mix is SplitMix64's output function.
  (func $mix (param $x i64) (result i64)
    (local.set $x (i64.add (local.get $x) (i64.const 0x9E3779B97F4A7C15)))
    (local.set $x (i64.mul (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 30)))
                           (i64.const 0xBF58476D1CE4E5B9)))
    (local.set $x (i64.mul (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 27)))
                           (i64.const 0x94D049BB133111EB)))
    (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 31))))

  ;; $range is 100, 1000 or 10000 for tasks 0, 1 and 2.
  (func $range (param $task i32) (result i32)
    (local $max i32)
    (local.set $max (i32.const 100))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $task)))
        (local.set $max (i32.mul (local.get $max) (i32.const 10)))
        (local.set $task (i32.sub (local.get $task) (i32.const 1)))
        (br $next)))
    (local.get $max))

  ;; ---- ABI exports ------------------------------------------------------
  (func (export "terrarium_abi_version") (result i32) (i32.const 1))

  (func (export "terrarium_buffer") (param $size i32) (result i32)
    (local $pages i32)
    (if (i32.lt_s (local.get $size) (i32.const 0)) (then (local.set $size (i32.const 0))))
    (local.set $pages (i32.div_u (i32.add (i32.add (global.get $REQ) (local.get $size)) (i32.const 65535))
                                 (i32.const 65536)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        ;; Growing past the host's memory limit fails: trap, the host
        ;; reports a fault.
        (if (i32.lt_s (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const 0))
          (then (unreachable)))))
    (global.set $req_cap (local.get $size))
    (global.get $REQ))

  (func (export "terrarium_result_ptr") (result i32) (global.get $REPLY))
  (func (export "terrarium_result_len") (result i32) (global.get $reply_len))

  (func (export "terrarium_spec") (result i32)
    (call $begin)
    (call $emit (global.get $S_SPEC))
    (call $reply (i32.const 0)))

  (func (export "terrarium_reset") (param $seed i64) (param $task i32) (param $len i32) (result i32)
    ;; The request body is reserved: this env ignores it. An out-of-range
    ;; task (unsigned compare: negative ones too) is a bad request.
    (if (i32.ge_u (local.get $task) (i32.const 3))
      (then (return (call $fail (i32.const 1) (global.get $E_TASK)))))
    (global.set $secret (i32.add (i32.const 1) (i32.wrap_i64 (i64.rem_u
      (call $mix (i64.xor (local.get $seed) (call $mix (i64.extend_i32_u (local.get $task)))))
      (i64.extend_i32_u (call $range (local.get $task)))))))
    (global.set $state (i32.const 1))
    (global.set $guesses (i32.const 0))
    (global.set $answer (i32.const -1))
    (call $log (i32.const 1) (global.get $S_LOG) (call $strlen (global.get $S_LOG)))
    (call $begin)
    (call $emit (global.get $S_OBS_A))
    (call $emit_u32 (call $range (local.get $task)))
    (call $emit (global.get $S_OBS_B))
    (call $reply (i32.const 0)))

  (func (export "terrarium_step") (param $len i32) (result i32)
    (local $end i32) (local $p i32) (local $v i32) (local $ve i32) (local $a i32) (local $ae i32)
    (local $n i32) (local $calls i32) (local $guesses i32)
    (if (i32.eqz (global.get $state))
      (then (return (call $fail (i32.const 2) (global.get $E_BEFORE)))))
    (if (i32.eq (global.get $state) (i32.const 2))
      (then (return (call $fail (i32.const 2) (global.get $E_ENDED)))))
    (if (i32.gt_u (local.get $len) (global.get $req_cap))
      (then (return (call $fail (i32.const 1) (global.get $E_ROLE)))))
    (local.set $end (i32.add (global.get $REQ) (local.get $len)))
    (local.set $v (call $value (global.get $REQ) (local.get $end) (global.get $K_ROLE)))
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then (return (call $fail (i32.const 1) (global.get $E_ROLE)))))
    (if (i32.eqz (call $match (local.get $v) (local.get $end) (global.get $K_ASSISTANT)))
      (then (return (call $fail (i32.const 1) (global.get $E_ROLE)))))

    ;; Answer each tool call (each starts with an "id" key) with a tool
    ;; message. The guess count is committed only when the whole action was
    ;; accepted, so a bad request leaves the episode as it was.
    (call $begin)
    (call $emit (global.get $S_STEP_OPEN))
    (local.set $guesses (global.get $guesses))
    (local.set $p (global.get $REQ))
    (block $last
      (loop $next_call
        (local.set $v (call $value (local.get $p) (local.get $end) (global.get $K_ID)))
        (br_if $last (i32.lt_s (local.get $v) (i32.const 0)))
        (local.set $ve (call $string_end (local.get $v) (local.get $end)))
        (if (i32.or (i32.lt_s (local.get $ve) (i32.const 0))
              (i32.or (i32.gt_u (i32.sub (local.get $ve) (local.get $v)) (i32.const 256))
                      (i32.ge_u (local.get $calls) (i32.const 64))))
          (then (return (call $fail (i32.const 1) (global.get $E_CALLS)))))
        (if (local.get $calls) (then (call $byte (i32.const 44)))) ;; ','
        (call $emit (global.get $S_TOOL_A))
        (call $emit_range (local.get $v) (i32.add (local.get $ve) (i32.const 1))) ;; the id as sent
        (call $emit (global.get $S_TOOL_B))
        (local.set $a (call $value (local.get $ve) (local.get $end) (global.get $K_NAME)))
        (if (i32.or (i32.lt_s (local.get $a) (i32.const 0))
                    (i32.eqz (call $match (local.get $a) (local.get $end) (global.get $K_GUESS))))
          (then (call $emit (global.get $S_BAD_TOOL)))
          (else
            ;; arguments is a string holding JSON: find \"n\" inside it.
            (local.set $n (i32.const -1))
            (local.set $a (call $value (local.get $ve) (local.get $end) (global.get $K_ARGS)))
            (local.set $ae (call $string_end (local.get $a) (local.get $end)))
            (if (i32.ge_s (local.get $ae) (i32.const 0))
              (then
                (local.set $a (call $value (local.get $a) (local.get $ae) (global.get $K_N)))
                (if (i32.ge_s (local.get $a) (i32.const 0))
                  (then (local.set $n (call $int (local.get $a) (local.get $ae)))))))
            (if (i32.lt_s (local.get $n) (i32.const 0))
              (then (call $emit (global.get $S_BAD_ARGS)))
              (else
                (local.set $guesses (i32.add (local.get $guesses) (i32.const 1)))
                (if (i32.lt_u (local.get $n) (global.get $secret))
                  (then (call $emit (global.get $S_HIGHER)))
                  (else (if (i32.gt_u (local.get $n) (global.get $secret))
                    (then (call $emit (global.get $S_LOWER)))
                    (else (call $emit (global.get $S_CORRECT))))))))))
        (call $emit (global.get $S_TOOL_C))
        (local.set $calls (i32.add (local.get $calls) (i32.const 1)))
        (local.set $p (local.get $ve))
        (br $next_call)))

    (if (i32.eqz (local.get $calls))
      (then
        ;; No tool calls: the content is the final answer. Keep its first
        ;; number.
        (global.set $answer (i32.const -1))
        (local.set $v (call $value (global.get $REQ) (local.get $end) (global.get $K_CONTENT)))
        (local.set $ve (call $string_end (local.get $v) (local.get $end)))
        (if (i32.ge_s (local.get $ve) (i32.const 0))
          (then
            (local.set $p (i32.add (local.get $v) (i32.const 1)))
            (block $found
              (loop $scan
                (br_if $found (i32.ge_u (local.get $p) (local.get $ve)))
                (br_if $found (i32.le_u (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)) (i32.const 9)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $scan)))
            (global.set $answer (call $int (local.get $p) (local.get $ve)))))
        (global.set $state (i32.const 2))
        (call $begin)
        (call $emit (global.get $S_STEP_DONE))
        (return (call $reply (i32.const 0)))))
    (global.set $guesses (local.get $guesses))
    (call $emit (global.get $S_STEP_MORE))
    (call $reply (i32.const 0)))

  (func (export "terrarium_score") (result i32)
    (if (i32.eqz (global.get $state))
      (then (return (call $fail (i32.const 2) (global.get $E_SCORE)))))
    (call $begin)
    (call $emit (global.get $S_SCORE_A))
    (call $byte (i32.add (i32.const 48) (i32.eq (global.get $answer) (global.get $secret)))) ;; 1 or 0
    (call $emit (global.get $S_SCORE_B))
    (call $emit_u32 (global.get $guesses))
    (call $emit (global.get $S_SCORE_C))
    (call $reply (i32.const 0)))

  ;; The reference solution: guess the secret, then answer it. It reads the
  ;; state and never changes it.
  (func (export "terrarium_oracle") (result i32)
    (if (i32.eqz (global.get $state))
      (then (return (call $fail (i32.const 2) (global.get $E_ORACLE)))))
    (call $begin)
    (if (i32.eqz (global.get $guesses))
      (then
        (call $emit (global.get $S_ORACLE_CALL))
        (call $emit_u32 (global.get $secret))
        (call $emit (global.get $S_ORACLE_CALL_END)))
      (else
        (call $emit (global.get $S_ORACLE_ANSWER))
        (call $emit_u32 (global.get $secret))
        (call $emit (global.get $S_ORACLE_ANSWER_END))))
    (call $reply (i32.const 0)))
)
