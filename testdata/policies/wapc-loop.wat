;; A misbehaving waPC guest: `__guest_call` loops forever. The host's deadline must stop it.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 1)))
