;; A waPC guest that forwards each call to the host: the operation `NAMESPACE/OPERATION`
;; (split at the first `/`, so `oci/v1/verify` is namespace `oci`, operation `v1/verify`) with
;; the payload becomes `__host_call("kubewarden", NAMESPACE, OPERATION, payload)`. The host's
;; answer is the guest's answer; a host error is the guest's error, word for word.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call"
    (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 16) "kubewarden")
  (data (i32.const 32) "the operation must be NAMESPACE/OPERATION")

  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (local $payload i32)
    (local $answer i32)
    (local $slash i32)
    (local $len i32)
    ;; The operation at 1024, the payload right after it, the host's answer after that.
    (local.set $payload (i32.add (i32.const 1024) (local.get $op_len)))
    (local.set $answer (i32.add (local.get $payload) (local.get $payload_len)))
    (call $reserve (local.get $answer))
    (call $guest_request (i32.const 1024) (local.get $payload))

    ;; Find the first `/` of the operation.
    (local.set $slash (i32.const 0))
    (block $found
      (loop $scan
        (br_if $found (i32.ge_u (local.get $slash) (local.get $op_len)))
        (br_if $found
          (i32.eq (i32.load8_u (i32.add (i32.const 1024) (local.get $slash))) (i32.const 47)))
        (local.set $slash (i32.add (local.get $slash) (i32.const 1)))
        (br $scan)))
    (if (i32.ge_u (local.get $slash) (local.get $op_len))
      (then (call $guest_error (i32.const 32) (i32.const 41)) (return (i32.const 0))))

    (if (call $host_call
          (i32.const 16) (i32.const 10)
          (i32.const 1024) (local.get $slash)
          (i32.add (i32.const 1025) (local.get $slash))
          (i32.sub (i32.sub (local.get $op_len) (local.get $slash)) (i32.const 1))
          (local.get $payload) (local.get $payload_len))
      (then
        (local.set $len (call $host_response_len))
        (call $reserve (i32.add (local.get $answer) (local.get $len)))
        (call $host_response (local.get $answer))
        (call $guest_response (local.get $answer) (local.get $len))
        (return (i32.const 1))))
    (local.set $len (call $host_error_len))
    (call $reserve (i32.add (local.get $answer) (local.get $len)))
    (call $host_error (local.get $answer))
    (call $guest_error (local.get $answer) (local.get $len))
    (i32.const 0))

  ;; Grows the memory so that it reaches at least byte `end`.
  (func $reserve (param $end i32)
    (local $pages i32)
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))))
