;; A module with the exports of a Rego policy built by `opa build -t wasm` (the OPA Wasm ABI),
;; whose single entrypoint always reports one violation.
(module
  (import "env" "memory" (memory 2))
  (import "env" "opa_abort" (func $opa_abort (param i32)))
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 0) "[{\"result\":{\"violation\":[{\"msg\":\"denied by the fixture policy\"}]}}]\00")
  (data (i32.const 128) "{\"policy/violation\":0}\00")
  (data (i32.const 192) "{}\00")

  (func (export "opa_malloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $ptr))
  (func (export "opa_heap_ptr_get") (result i32) (global.get $heap))
  (func (export "opa_heap_ptr_set") (param $ptr i32) (global.set $heap (local.get $ptr)))
  (func (export "entrypoints") (result i32) (i32.const 128))
  (func (export "builtins") (result i32) (i32.const 192))
  (func (export "opa_eval")
    (param $reserved i32) (param $entrypoint i32) (param $data i32) (param $input i32)
    (param $input_len i32) (param $heap_ptr i32) (param $format i32) (result i32)
    (i32.const 0)))
