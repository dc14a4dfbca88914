;; A waPC guest whose `validate_settings` accepts only empty settings (`{}`, 2 bytes) and
;; otherwise answers {"valid":false,...}; `validate` accepts. It exports
;; `wapc_init`, which must run before `__guest_call` (it sets the flag `validate` checks).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (memory (export "memory") 1)
  (global $initialised (mut i32) (i32.const 0))
  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (data (i32.const 64) "{\"valid\":false,\"message\":\"this policy takes no settings\"}")
  (data (i32.const 128) "{\"accepted\":true}")
  (data (i32.const 160) "wapc_init did not run")
  (func (export "wapc_init") (global.set $initialised (i32.const 1)))
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eqz (global.get $initialised))
      (then (call $guest_error (i32.const 160) (i32.const 21)) (return (i32.const 0))))
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then
        (if (i32.eq (local.get $payload_len) (i32.const 2))
          (then (call $guest_response (i32.const 32) (i32.const 14)))
          (else (call $guest_response (i32.const 64) (i32.const 57))))
        (return (i32.const 1))))
    (call $guest_response (i32.const 128) (i32.const 17))
    (i32.const 1)))
