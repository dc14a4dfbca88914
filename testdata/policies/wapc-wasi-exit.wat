;; A waPC guest built like TinyGo 0.35 and later: its `_start` ends with `proc_exit(0)`, after
;; which it is ready (Kubewarden carries on). `validate` (8) calls `proc_exit(3)` instead of
;; answering; the other operations answer "v1".
(module
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $started (mut i32) (i32.const 0))
  (data (i32.const 0) "\"v1\"")

  (func (export "_start")
    (global.set $started (i32.const 1))
    (call $proc_exit (i32.const 0)))

  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eqz (global.get $started)) (then (unreachable)))
    (if (i32.eq (local.get $op_len) (i32.const 8))
      (then (call $proc_exit (i32.const 3))))
    (call $guest_response (i32.const 0) (i32.const 4))
    (i32.const 1)))
