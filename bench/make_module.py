#!/usr/bin/env python3
"""Writes a valid Wasm module of about SIZE MiB for benchmarks: half code, half data.

Usage: make_module.py SIZE_MIB OUT.wasm   (SIZE_MIB may be a fraction: 0.01 is about 10 KiB)

The code section holds many small functions of `i32.const N; drop` runs, the data section one
large passive segment; the module is a waPC guest whose `__guest_call` answers every operation with
`"v1"`, so that annotate's protocol-version question gets an answer as it does from a real policy.
"""

import os
import sys


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + leb(len(payload)) + payload


def vector(items) -> bytes:
    items = list(items)
    return leb(len(items)) + b"".join(items)


def name(text: bytes) -> bytes:
    return leb(len(text)) + text


def main() -> None:
    size = int(float(sys.argv[1]) * 1024 * 1024)
    out = sys.argv[2]
    body_runs = 400  # about 1.2 KiB of code a function
    body = b"\x00" + b"\x41\xff\x00\x1a" * body_runs + b"\x0b"
    body = leb(len(body)) + body
    functions = (size // 2) // len(body)
    data = os.urandom(size - functions * len(body))

    guest_call = b"\x00" + b"\x41\x10\x41\x04\x10\x00\x41\x01\x0b"  # __guest_response(16, 4); 1
    module = b"\0asm\x01\0\0\0"
    # types: 0 [] -> [], 1 [i32 i32] -> [], 2 [i32 i32] -> [i32]
    module += section(1, vector([b"\x60\x00\x00", b"\x60\x02\x7f\x7f\x00", b"\x60\x02\x7f\x7f\x01\x7f"]))
    module += section(2, vector([name(b"wapc") + name(b"__guest_response") + b"\x00\x01"]))
    module += section(3, vector([b"\x00"] * functions + [b"\x02"]))
    module += section(5, vector([b"\x00\x01"]))  # one memory, min 1 page
    module += section(7, vector([name(b"__guest_call") + b"\x00" + leb(functions + 1),
                                 name(b"memory") + b"\x02\x00"]))
    module += section(12, leb(2))  # data count
    module += section(10, leb(functions + 1) + body * functions + leb(len(guest_call)) + guest_call)
    module += section(11, vector([b"\x00\x41\x10\x0b" + name(b'"v1"'),  # active, at 16
                                  b"\x01" + leb(len(data)) + data]))  # passive
    with open(out, "wb") as f:
        f.write(module)


if __name__ == "__main__":
    main()
