;; A waPC guest that needs a host capability: `validate` resolves `localhost` through
;; `kubewarden/net/v1/dns_lookup_host` and accepts when the host answers, rejects (code 403) when
;; the host refuses. `protocol_version` and `validate_settings` answer
;; as the accept-all guest does.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__host_call"
    (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (data (i32.const 64) "{\"accepted\":true}")
  (data (i32.const 96) "{\"accepted\":false,\"code\":403,\"message\":\"name lookups are not available\"}")
  (data (i32.const 256) "kubewarden")
  (data (i32.const 272) "net")
  (data (i32.const 288) "v1/dns_lookup_host")
  (data (i32.const 320) "\"localhost\"")

  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (local $payload i32)
    (local.set $payload (i32.add (i32.const 1024) (local.get $op_len)))
    (call $reserve (i32.add (local.get $payload) (local.get $payload_len)))
    (call $guest_request (i32.const 1024) (local.get $payload))
    ;; "protocol_version"
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    ;; "validate_settings"
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    ;; "validate": ask the host to resolve localhost.
    (if (call $host_call
          (i32.const 256) (i32.const 10)
          (i32.const 272) (i32.const 3)
          (i32.const 288) (i32.const 18)
          (i32.const 320) (i32.const 11))
      (then (call $guest_response (i32.const 64) (i32.const 17)))
      (else (call $guest_response (i32.const 96) (i32.const 72))))
    (i32.const 1))

  ;; Grows the memory so that it reaches at least byte `end`.
  (func $reserve (param $end i32)
    (local $pages i32)
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))))
