;; A waPC guest that imports the WASI preview 1 functions Kubewarden policies built by TinyGo
;; (Go SDK) and Rust std import, and uses them on every call, as such a policy's runtime does:
;; it reads the clocks, twice 16 random bytes, its arguments and environment, looks for a
;; preopened folder (fd 3), tries to open a file, reads stdin, yields, and writes to stdout, to
;; stderr (a last line without a newline) and through `wasi_unstable::fd_write` (older TinyGo).
;;
;; By the length of the operation name:
;; - "protocol_version" (16), "validate_settings" (17), "validate" (8): the usual answers;
;; - "wasi-report" (11): the 256-byte record of what WASI gave, at offset 256 of the memory:
;;     +0 u64 realtime clock (ns)   +8 u32 clock_time_get errno   +12 u32 random_get errnos (sum)
;;     +16 16 random bytes          +32 16 more random bytes
;;     +48 u32 environment count    +52 u32 environment bytes     +56 u32 argc   +60 u32 argv bytes
;;     +64 u32 fd_prestat_get(3) errno   +68 u32 path_open errno   +72 u32 fd_read(stdin) errno
;;     +76 u32 bytes read from stdin     +80 u32 sched_yield errno  +84 u32 fd_write errnos (sum)
;;     +88 u32 args_get + environ_get errnos (sum)                 +128 the argv strings
;; - "flood" (5): also writes 100 KiB of `x` (no newline) to stdout, then answers "{}".
(module
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write_unstable (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)

  (data (i32.const 0) "\"v1\"")
  (data (i32.const 16) "{\"valid\":true}")
  (data (i32.const 32) "{\"accepted\":true}")
  (data (i32.const 56) "{}")
  (data (i32.const 64) "hello from stdout\n")
  (data (i32.const 96) "hello from stderr, no newline")
  (data (i32.const 128) "hello from wasi_unstable\n")
  (data (i32.const 160) "unknown operation")
  (data (i32.const 192) "etc/passwd")

  ;; Writes `len` bytes at `ptr` to `fd` (one iovec at 224, count at 232); returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 224) (local.get $ptr))
    (i32.store (i32.const 228) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 224) (i32.const 1) (i32.const 232)))

  ;; Uses WASI the way a TinyGo or Rust std runtime does, filling the record at 256.
  (func $probe
    (i32.store (i32.const 264) (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 256)))
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 600)))
    (i32.store (i32.const 268)
      (i32.add (call $random_get (i32.const 272) (i32.const 16))
               (call $random_get (i32.const 288) (i32.const 16))))
    (drop (call $environ_sizes_get (i32.const 304) (i32.const 308)))
    (drop (call $args_sizes_get (i32.const 312) (i32.const 316)))
    (i32.store (i32.const 344)
      (i32.add (call $args_get (i32.const 448) (i32.const 384))
               (call $environ_get (i32.const 512) (i32.const 576))))
    (i32.store (i32.const 320) (call $fd_prestat_get (i32.const 3) (i32.const 608)))
    (drop (call $fd_prestat_dir_name (i32.const 3) (i32.const 616) (i32.const 8)))
    (i32.store (i32.const 324)
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 192) (i32.const 10) (i32.const 0)
                       (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 624)))
    ;; One iovec of 64 bytes at 1024 for stdin.
    (i32.store (i32.const 240) (i32.const 1024))
    (i32.store (i32.const 244) (i32.const 64))
    (i32.store (i32.const 328) (call $fd_read (i32.const 0) (i32.const 240) (i32.const 1) (i32.const 332)))
    (i32.store (i32.const 336) (call $sched_yield))
    (drop (call $fd_fdstat_get (i32.const 1) (i32.const 632)))
    (drop (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 1) (i32.const 656)))
    (drop (call $fd_close (i32.const 3)))
    (i32.store (i32.const 340)
      (i32.add
        (i32.add (call $write (i32.const 1) (i32.const 64) (i32.const 18))
                 (call $write (i32.const 2) (i32.const 96) (i32.const 29)))
        (block (result i32)
          (i32.store (i32.const 224) (i32.const 128))
          (i32.store (i32.const 228) (i32.const 25))
          (call $fd_write_unstable (i32.const 1) (i32.const 224) (i32.const 1) (i32.const 232))))))

  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (call $probe)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 0) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 16) (i32.const 14)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 8))
      (then (call $guest_response (i32.const 32) (i32.const 17)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 11))
      (then (call $guest_response (i32.const 256) (i32.const 256)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 5))
      (then
        (memory.fill (i32.const 16384) (i32.const 120) (i32.const 102400))
        (drop (call $write (i32.const 1) (i32.const 16384) (i32.const 102400)))
        (call $guest_response (i32.const 56) (i32.const 2))
        (return (i32.const 1))))
    (call $guest_error (i32.const 160) (i32.const 17))
    (i32.const 0)))
