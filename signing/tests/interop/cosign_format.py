"""An independent implementation of cosign's formats, on Python `cryptography`, `hashlib.scrypt` and PyNaCl.

Used by signing/tests/python_interop.rs. Each command prints one result line or exits non-zero.

  decrypt-key KEY PASSWORD           -> public key PEM of the encrypted cosign key file (scrypt + secretbox)
  verify-sig PUBKEY PAYLOAD SIG_B64  -> the payload's docker-manifest-digest, after checking the ECDSA signature
  verify-dsse PUBKEY BUNDLE          -> the statement's subject sha256, after checking the DSSE signature over the PAE
  make-key KEY PUB PASSWORD          -> writes an encrypted cosign key file and its public key, as cosign does
  sign KEY PASSWORD REF DIGEST OUT   -> writes OUT.payload and OUT.sig (simple signing, following cosign's spec)
"""

import base64
import hashlib
import json
import os
import sys

import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PEM_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"


def pem_body(text, label):
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.index(begin) + len(begin)
    return base64.b64decode("".join(text[start:text.index(end)].split()))


def derive(password, kdf):
    params = kdf["params"]
    assert kdf["name"] == "scrypt", kdf["name"]
    return hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(kdf["salt"]),
        n=params["N"],
        r=params["r"],
        p=params["p"],
        dklen=32,
        maxmem=256 * 1024 * 1024,
    )


def load_private(path, password):
    text = open(path).read()
    data = json.loads(pem_body(text, PEM_LABEL))
    assert data["cipher"]["name"] == "nacl/secretbox", data["cipher"]["name"]
    box = nacl.secret.SecretBox(derive(password, data["kdf"]))
    der = box.decrypt(base64.b64decode(data["ciphertext"]), base64.b64decode(data["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, password=None)


def public_pem(key):
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def pae(payload_type, payload):
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


def main(argv):
    command = argv[1]
    if command == "decrypt-key":
        print(public_pem(load_private(argv[2], argv[3]).public_key()), end="")
    elif command == "verify-sig":
        key = serialization.load_pem_public_key(open(argv[2], "rb").read())
        payload = open(argv[3], "rb").read()
        key.verify(base64.b64decode(open(argv[4]).read()), payload, ec.ECDSA(hashes.SHA256()))
        document = json.loads(payload)
        assert document["critical"]["type"] == "cosign container image signature"
        print(document["critical"]["image"]["docker-manifest-digest"])
    elif command == "verify-dsse":
        key = serialization.load_pem_public_key(open(argv[2], "rb").read())
        bundle = json.load(open(argv[3]))
        assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
        envelope = bundle["dsseEnvelope"]
        payload = base64.b64decode(envelope["payload"])
        (signature,) = envelope["signatures"]
        key.verify(
            base64.b64decode(signature["sig"]),
            pae(envelope["payloadType"], payload),
            ec.ECDSA(hashes.SHA256()),
        )
        statement = json.loads(payload)
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        print(statement["subject"][0]["digest"]["sha256"])
    elif command == "make-key":
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        kdf = {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1},
               "salt": base64.b64encode(os.urandom(32)).decode()}
        nonce = os.urandom(24)
        box = nacl.secret.SecretBox(derive(argv[4], kdf))
        ciphertext = box.encrypt(der, nonce).ciphertext
        data = {"kdf": kdf, "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
                "ciphertext": base64.b64encode(ciphertext).decode()}
        body = base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
        lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
        open(argv[2], "w").write(f"-----BEGIN {PEM_LABEL}-----\n{lines}\n-----END {PEM_LABEL}-----\n")
        open(argv[3], "w").write(public_pem(key.public_key()))
        print("ok")
    elif command == "sign":
        key = load_private(argv[2], argv[3])
        payload = json.dumps({
            "critical": {
                "identity": {"docker-reference": argv[4]},
                "image": {"docker-manifest-digest": argv[5]},
                "type": "cosign container image signature",
            },
            "optional": None,
        }, separators=(",", ":")).encode()
        signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
        open(argv[6] + ".payload", "wb").write(payload)
        open(argv[6] + ".sig", "w").write(base64.b64encode(signature).decode())
        print("ok")
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
