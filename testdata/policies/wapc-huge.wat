;; A misbehaving waPC guest: claims a 2 GiB answer. The host's response-size cap must refuse it
;; before reading (the memory is only 64 KiB).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (call $guest_response (i32.const 0) (i32.const 0x7fffffff))
    (i32.const 1)))
