;; A waPC guest that accepts every request.
;;
;; The host calls `__guest_call(op_len, payload_len)`; the guest asks for the operation name and
;; payload with `__guest_request` and answers with `__guest_response` (or `__guest_error`).
;; The three Kubewarden operations have names of different lengths, so the length picks the answer.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (memory (export "memory") 1)

  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (data (i32.const 64) "{\"accepted\":true}")
  (data (i32.const 96) "unknown operation")

  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (local $payload i32)
    (local.set $payload (i32.add (i32.const 1024) (local.get $op_len)))
    (call $reserve (i32.add (local.get $payload) (local.get $payload_len)))
    (call $guest_request (i32.const 1024) (local.get $payload))
    ;; "protocol_version"
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    ;; "validate_settings"
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    ;; "validate"
    (if (i32.eq (local.get $op_len) (i32.const 8))
      (then (call $guest_response (i32.const 64) (i32.const 17)) (return (i32.const 1))))
    (call $guest_error (i32.const 96) (i32.const 17))
    (i32.const 0))

  ;; Grows the memory so that it reaches at least byte `end`.
  (func $reserve (param $end i32)
    (local $pages i32)
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))))
