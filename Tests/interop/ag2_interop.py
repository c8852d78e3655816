#!/usr/bin/env python3
"""Interop peer for the AG2 tests: holder-bound passes with python `cwt` and `cryptography`.

    ag2_interop.py issue|issue2 ISSUER_PRIVATE_JWK ISS SUB AUD EXP CTI_HEX
        -> HQ issues a bound credential (cwt), a fresh device key makes the proof (cryptography);
           `issue` makes AG2 v1, `issue2` AG2 v2 (no iss, a compressed cnf, the compact proof);
           prints {"ag2": AG2 text, "holder_x963": hex of the device's public point}
    ag2_interop.py verify ISSUER_PUBLIC_JWK AG2_TEXT
        -> checks the credential (cwt) and the proof under its cnf key (cryptography), either
           profile; prints {"sub": …, "cti": hex, "proof_time": int, "profile": 1 or 2};
           exits 1 when a check fails
"""
import hashlib
import json
import sys
import time

import cbor2
import cwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cwt import COSEKey

# Base45 (RFC 9285), shared with the AG1 interop peer beside this file.
from cwt_interop import b45decode, b45encode as base45

# --- docs/token.md copies these two functions verbatim ---------------------------------------

def issue_bound_credential(hq_key: COSEKey, claims: dict, device_public_key: ec.EllipticCurvePublicKey) -> bytes:
    """HQ: an AG1 credential whose cnf (claim 8) is the device's P-256 key."""
    # tagged=False: tag 18 only, not 61(18(…)); every byte counts in the QR code.
    return cwt.encode({**claims, 8: {1: device_cose_key(device_public_key)}}, hq_key, tagged=False)


def device_cose_key(device_public_key: ec.EllipticCurvePublicKey, compressed: bool = False) -> dict:
    """The device's key as a COSE_Key; compressed, y is only its sign bit (RFC 9053 §7.1.1)."""
    numbers = device_public_key.public_numbers()
    return {
        1: 2,                                   # kty: EC2
        -1: 1,                                  # crv: P-256
        -2: numbers.x.to_bytes(32, "big"),      # x
        -3: numbers.y % 2 == 1 if compressed else numbers.y.to_bytes(32, "big"),   # y
    }


def make_proof(credential: bytes, device_key: ec.EllipticCurvePrivateKey, now: int) -> bytes:
    """The device: an untagged COSE_Sign1, ES256, over {6: now, 7: SHA-256(credential)[:8]}."""
    protected = cbor2.dumps({1: -7})            # alg: ES256
    payload = cbor2.dumps({6: now, 7: hashlib.sha256(credential).digest()[:8]})
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = device_key.sign(to_be_signed, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")   # COSE: raw r || s, not DER
    return cbor2.dumps([protected, {}, payload, signature])


def ag2_text(credential: bytes, proof: bytes) -> str:
    return "AG2:" + base45(cbor2.dumps([credential, proof]))


def issue_compact_credential(hq_key: COSEKey, claims: dict, device_public_key: ec.EllipticCurvePublicKey) -> bytes:
    """HQ, AG2 v2: no iss (the gateway's key set names the issuer), the cnf point compressed."""
    without_iss = {label: value for label, value in claims.items() if label != 1}
    cnf = {1: device_cose_key(device_public_key, compressed=True)}
    return cwt.encode({**without_iss, 8: cnf}, hq_key, tagged=False)


def sign_v2(credential: bytes, device_key: ec.EllipticCurvePrivateKey, now: int) -> bytes:
    """The device, AG2 v2: ES256 over ["AG2 proof v2", SHA-256(credential), now], raw r || s."""
    to_be_signed = cbor2.dumps(["AG2 proof v2", hashlib.sha256(credential).digest(), now])
    r, s = decode_dss_signature(device_key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def ag2_v2_text(credential: bytes, now: int, signature: bytes) -> str:
    return "AG2:" + base45(cbor2.dumps([credential, now, signature]))

# ----------------------------------------------------------------------------------------------


def verify_proof(proof: bytes, credential: bytes, holder: ec.EllipticCurvePublicKey) -> int:
    """Checks a proof as the gateway does, except the time; returns the proof's time."""
    item = cbor2.loads(proof)
    if isinstance(item, cbor2.CBORTag):
        assert item.tag == 18, f"proof tag {item.tag}"
        item = item.value
    protected, _unprotected, payload, signature = item
    assert cbor2.loads(protected).get(1) == -7, "the proof is not ES256"
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    assert len(signature) == 64, "the signature is not raw r || s"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    holder.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    claims = cbor2.loads(payload)
    assert claims[7] == hashlib.sha256(credential).digest()[:8], "the proof names another credential"
    return claims[6]


def verify_v2(credential: bytes, now: int, signature: bytes, holder: ec.EllipticCurvePublicKey) -> int:
    """Checks an AG2 v2 signature as the gateway does, except the time; returns the time."""
    assert len(signature) == 64, "the signature is not raw r || s"
    to_be_signed = cbor2.dumps(["AG2 proof v2", hashlib.sha256(credential).digest(), now])
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    holder.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    return now


def holder_key(cose_key: dict) -> ec.EllipticCurvePublicKey:
    """The cnf COSE_Key's point: y as 32 bytes, or its sign bit (compressed)."""
    assert (cose_key[1], cose_key[-1]) == (2, 1), "cnf is not an EC2 P-256 key"
    x, y = cose_key[-2], cose_key[-3]
    if isinstance(y, bool):
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes([3 if y else 2]) + x)
    return ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    ).public_key()


def main() -> int:
    cmd = sys.argv[1]
    hq_key = COSEKey.from_jwk(json.load(open(sys.argv[2])))
    if cmd in ("issue", "issue2"):
        iss, sub, aud, exp, cti = sys.argv[3:8]
        now = int(time.time())
        device_key = ec.generate_private_key(ec.SECP256R1())
        claims = {1: iss, 2: sub, 3: aud, 4: int(exp), 6: now, 7: bytes.fromhex(cti), -65537: "booking-5521"}
        if cmd == "issue":
            credential = issue_bound_credential(hq_key, claims, device_key.public_key())
            text = ag2_text(credential, make_proof(credential, device_key, now))
        else:
            credential = issue_compact_credential(hq_key, claims, device_key.public_key())
            text = ag2_v2_text(credential, now, sign_v2(credential, device_key, now))
        point = device_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        print(json.dumps({"ag2": text, "holder_x963": point.hex()}))
        return 0
    if cmd == "verify":
        text = sys.argv[3]
        assert text.startswith("AG2:"), "no AG2: prefix"
        items = cbor2.loads(b45decode(text[4:]))
        credential = items[0]
        claims = cwt.decode(credential, hq_key)
        holder = holder_key(claims[8][1])
        try:
            if len(items) == 2:
                proof_time = verify_proof(items[1], credential, holder)
            else:
                # As the gateway: exactly [credential, time, signature], time an unsigned integer.
                assert len(items) == 3, f"an AG2 body of {len(items)} items"
                assert type(items[1]) is int and items[1] >= 0, "the time is not an unsigned integer"
                proof_time = verify_v2(credential, items[1], items[2], holder)
        except (InvalidSignature, AssertionError) as error:
            print(f"proof refused: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        print(json.dumps({"sub": claims[2], "cti": claims[7].hex(), "proof_time": proof_time, "profile": len(items) - 1}))
        return 0
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
