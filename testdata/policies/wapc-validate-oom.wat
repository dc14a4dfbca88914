;; A waPC guest that accepts any settings but, in `validate`, grows its memory 1 MiB at a time
;; without bound: the host's memory cap stops it (if a grow ever failed quietly, it traps).
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
    (loop $more
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
        (then unreachable))
      (br $more))
    (i32.const 1)))
