;; A waPC guest that accepts any settings but, in `validate`, writes 4 KiB lines to stdout (WASI
;; `fd_write`) without end: the host logs at most its per-evaluation cap of them, and the deadline
;; ends the flood. Operations are told apart by name length (see wapc-accept.wat).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  ;; The iovec at 64: 4096 bytes from 4096.
  (data (i32.const 64) "\00\10\00\00\00\10\00\00")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    (memory.fill (i32.const 4096) (i32.const 120) (i32.const 4095))
    (i32.store8 (i32.const 8191) (i32.const 10))
    (loop $flood
      (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 80)))
      (br $flood))
    (i32.const 1)))
