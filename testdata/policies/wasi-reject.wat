;; A WASI policy that reads argv and stdin: `validate-settings` answers {"valid":true};
;; `validate` rejects with code 418 when stdin starts with `{` (the host sent JSON), else 400.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 100: argc, 104: argv buffer size, 200: argv pointers, 300: argv strings, 1024: stdin.
  (data (i32.const 600) "{\"valid\":true}")
  (data (i32.const 640) "{\"accepted\":false,\"message\":\"rejected by the WASI fixture\",\"code\":418}")
  (data (i32.const 720) "{\"accepted\":false,\"message\":\"stdin was not JSON\",\"code\":400}")

  ;; Writes `len` bytes at `ptr` to stdout.
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func (export "_start")
    (local $op i32)
    (drop (call $args_sizes_get (i32.const 100) (i32.const 104)))
    (drop (call $args_get (i32.const 200) (i32.const 300)))
    ;; argv[1]: "validate" ends at byte 8, "validate-settings" has '-' there.
    (local.set $op (i32.load (i32.const 204)))
    (if (i32.eq (i32.load8_u (i32.add (local.get $op) (i32.const 8))) (i32.const 45))
      (then (call $print (i32.const 600) (i32.const 14)) (return)))
    ;; Read (the start of) stdin into 1024.
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 123))
      (then (call $print (i32.const 640) (i32.const 70)))
      (else (call $print (i32.const 720) (i32.const 60))))))
