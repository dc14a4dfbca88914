;; A misbehaving waPC guest: `__guest_call` grows its memory 1 MiB at a time without bound.
;; The host's memory cap must stop it (if a grow ever fails quietly, the guest traps).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (loop $more
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
        (then unreachable))
      (br $more))
    (i32.const 1)))
