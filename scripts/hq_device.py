#!/usr/bin/env python3
"""Enrols a test device with an HQ and prints its id and a device token, as JSON.

    python3 scripts/hq_device.py --hq http://127.0.0.1:8080 --code K7QF-2MXD-P9TA
    -> {"gateway_id": "gw-1", "issuer": "hq.dev.example", "token": "eyJ..."}

The enrolment is the real one of docs/hq-protocol.md ("Enrolment"): a fresh P-256 key, a proof
signed by it (`sub` its RFC 7638 thumbprint, `aud` `enrol`), then a device token for the issuer
that lives the protocol's maximum of an hour. The key lives in memory only. scripts/api-contract.sh
uses it to give schemathesis a device token; written apart from the Swift client on purpose, so
that the contract test does not trust the code it checks.
Exit status: 0 enrolled; 1 HQ refused (its error body on standard error); 2 usage or connection.
"""

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

# The protocol's longest device token (hq-protocol.md, "Device tokens").
TOKEN_LIFETIME = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def thumbprint(jwk: dict) -> str:
    # RFC 7638: the required members in lexical order, no whitespace.
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def token(key: ec.EllipticCurvePrivateKey, subject: str, audience: str, lifetime: int) -> str:
    now = int(time.time())
    header = {"alg": "ES256", "kid": thumbprint(public_jwk(key)), "typ": "JWT"}
    claims = {"aud": audience, "exp": now + lifetime, "iat": now, "jti": str(uuid.uuid4()), "sub": subject}
    signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hq", required=True, help="HQ's base URL")
    parser.add_argument("--code", required=True, help="a one-time enrolment code")
    parser.add_argument("--name", default="api-contract-test", help="the gateway's name at HQ")
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(key)
    body = {"code": args.code, "public_key": jwk, "proof": token(key, thumbprint(jwk), "enrol", 600),
            "name": args.name}
    request = urllib.request.Request(args.hq.rstrip("/") + "/v1/enrol", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        print(f"HQ refused the enrolment: {error.code} {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"cannot reach {args.hq}: {error}", file=sys.stderr)
        return 2
    gateway, issuer = answer["gateway_id"], answer["issuer"]
    print(json.dumps({"gateway_id": gateway, "issuer": issuer,
                      "token": token(key, gateway, issuer, TOKEN_LIFETIME)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
