;; A misbehaving waPC guest: answers every operation with text that is not JSON.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "this is not JSON")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (call $guest_response (i32.const 16) (i32.const 16))
    (i32.const 1)))
