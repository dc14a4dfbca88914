#!/usr/bin/env python3
"""Pushes COUNT policies to a registry for the hub benchmark: repository bench/pN, tag v1, each with its own module
(the annotated MODULE with a custom section naming N appended, so that every digest differs and the hub reads every
module) and its own title annotation.

Usage: hub_push.py HOST:PORT MODULE COUNT
"""

import hashlib
import http.client
import json
import sys


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def custom_section(name: str, payload: bytes) -> bytes:
    body = leb(len(name)) + name.encode() + payload
    return b"\x00" + leb(len(body)) + body


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def main() -> None:
    host, module_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    module = open(module_path, "rb").read()
    config = b'{"mediaType":"application/vnd.wasm.config.v1+json"}'
    connection = http.client.HTTPConnection(host)

    def request(method: str, path: str, body: bytes = b"", headers=None) -> None:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        reply.read()
        if reply.status not in (201, 202):
            raise SystemExit(f"{method} {path}: {reply.status}")

    for n in range(count):
        repo = f"bench/p{n}"
        variant = module + custom_section("bench", str(n).encode())
        for blob in (config, variant):
            request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest(blob)}", blob)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.wasm.config.v1+json",
                    "digest": digest(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.wasm.content.layer.v1+wasm",
                        "digest": digest(variant),
                        "size": len(variant),
                    }
                ],
                "annotations": {"io.kubewarden.policy.title": f"bench policy {n}"},
            }
        ).encode()
        request(
            "PUT",
            f"/v2/{repo}/manifests/v1",
            manifest,
            {"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )


if __name__ == "__main__":
    main()
