;; A waPC guest that accepts any settings but recurses without end in `validate`: every evaluation
;; exhausts the Wasm stack and traps. Operations are told apart by name length (see wapc-accept.wat).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (func $deeper (param $depth i64) (result i64)
    (i64.add (call $deeper (i64.add (local.get $depth) (i64.const 1))) (local.get $depth)))
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    (drop (call $deeper (i64.const 0)))
    (i32.const 1)))
