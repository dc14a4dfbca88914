;; A waPC guest that remembers: a global counter and a memory cell are bumped on every call.
;; It accepts only when both are 1, i.e. when it runs in a fresh instance. A host that reused
;; instances would see it reject the second request with "state leaked".
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 64) "{\"accepted\":true}")
  (data (i32.const 96) "{\"accepted\":false,\"message\":\"state leaked\",\"code\":409}")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    ;; the memory cell at address 8
    (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
    (if (i32.and (i32.eq (global.get $calls) (i32.const 1))
                 (i32.eq (i32.load (i32.const 8)) (i32.const 1)))
      (then (call $guest_response (i32.const 64) (i32.const 17)) (return (i32.const 1))))
    (call $guest_response (i32.const 96) (i32.const 54))
    (i32.const 1)))
