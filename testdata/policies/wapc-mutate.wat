;; A mutating waPC guest: `validate` accepts and returns the pod with a label added
;; (see wapc-accept.wat for the protocol). The host turns it into a JSON Patch, or refuses it
;; when the policy is not allowed to mutate.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\"v1\"")
  (data (i32.const 32) "{\"valid\":true}")
  (data (i32.const 64) "{\"accepted\":true,\"mutated_object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nginx\",\"namespace\":\"default\",\"labels\":{\"mutated\":\"yes\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.27\"}]}}}")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 16) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    (call $guest_response (i32.const 64) (i32.const 206))
    (i32.const 1)))
