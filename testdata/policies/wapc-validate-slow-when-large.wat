;; A waPC guest that accepts any settings and, in `validate`, accepts a small request but loops
;; without end on a large one (a payload of 4 KiB or more): a policy that misbehaves only on some
;; requests, to see a circuit breaker open on the large ones and close again on a small one.
;; Operations are told apart by name length (see wapc-accept.wat).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (data (i32.const 48) "{\"accepted\":true}")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    (if (i32.lt_u (local.get $payload_len) (i32.const 4096))
      (then (call $guest_response (i32.const 48) (i32.const 17)) (return (i32.const 1))))
    (loop $forever (br $forever))
    (i32.const 1)))
