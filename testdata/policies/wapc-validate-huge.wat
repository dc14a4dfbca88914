;; A waPC guest that accepts any settings but, in `validate`, claims a 2 GiB answer: the host's
;; response-size cap refuses it before reading (the memory is only 64 KiB).
;; Operations are told apart by name length (see wapc-accept.wat).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    (call $guest_response (i32.const 0) (i32.const 0x7fffffff))
    (i32.const 1)))
