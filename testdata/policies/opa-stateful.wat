;; A Rego policy's shape under the OPA Wasm ABI 1.2 (`opa_eval`), for the `opa` mode, that
;; remembers: its start function sets a mutable global to 41 and a byte of memory to '5', and
;; each evaluation adds one to both before answering
;;   response.status.message := "global G, memory M"
;; with G the global minus 40 and M that byte. A fresh instance started from the set-up state
;; always answers "global 2, memory 6"; an instance that kept an earlier evaluation's state does
;; not. Settings (the data) "trap" and "oom" make the evaluation trap, or grow its memory by
;; 1 GiB, after changing the state.
;; Values are NUL-terminated JSON texts, as in opa-builtins.wat.
(module
  (import "env" "memory" (memory 2))
  (import "env" "opa_abort" (func $opa_abort (param i32)))
  (global $heap (mut i32) (i32.const 65536))
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "{}\00")
  (data (i32.const 64) "{\"policy/main\":0}\00")
  (data (i32.const 200) "0")
  (data (i32.const 256) "[{\"result\":{\"response\":{\"allowed\":false,\"status\":{\"message\":\"global ?, memory ?\"}}}}]\00")

  (func $set_up
    (global.set $calls (i32.const 41))
    (i32.store8 (i32.const 200) (i32.const 0x35)))
  (start $set_up)

  (func $malloc (export "opa_malloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $ptr))
  (func (export "opa_heap_ptr_get") (result i32) (global.get $heap))
  (func (export "opa_heap_ptr_set") (param $ptr i32) (global.set $heap (local.get $ptr)))
  (func (export "opa_json_parse") (param $addr i32) (param $len i32) (result i32)
    (local $copy i32)
    (local.set $copy (call $malloc (i32.add (local.get $len) (i32.const 1))))
    (memory.copy (local.get $copy) (local.get $addr) (local.get $len))
    (i32.store8 (i32.add (local.get $copy) (local.get $len)) (i32.const 0))
    (local.get $copy))
  (func (export "opa_json_dump") (param $value i32) (result i32) (local.get $value))
  (func (export "builtins") (result i32) (i32.const 0))
  (func (export "entrypoints") (result i32) (i32.const 64))

  (func (export "opa_eval")
    (param $reserved i32) (param $entrypoint i32) (param $data i32) (param $input i32)
    (param $input_len i32) (param $heap_ptr i32) (param $format i32) (result i32)
    (global.set $heap (local.get $heap_ptr))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 200) (i32.add (i32.load8_u (i32.const 200)) (i32.const 1)))
    ;; data "trap": its second character is `t`; "oom": `o`.
    (if (i32.eq (i32.load8_u offset=1 (local.get $data)) (i32.const 0x74))
      (then (unreachable)))
    (if (i32.eq (i32.load8_u offset=1 (local.get $data)) (i32.const 0x6f))
      (then (drop (memory.grow (i32.const 16384)))))
    ;; The digits go where the question marks are.
    (i32.store8 offset=324 (i32.const 0)
      (i32.add (i32.const 0x30) (i32.sub (global.get $calls) (i32.const 40))))
    (i32.store8 offset=334 (i32.const 0) (i32.load8_u (i32.const 200)))
    (i32.const 256)))
