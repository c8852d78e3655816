#!/usr/bin/env python3
"""Interop peer for the AG2 tests: holder-bound passes with python `cwt` and `cryptography`.

    ag2_interop.py issue ISSUER_PRIVATE_JWK ISS SUB AUD EXP CTI_HEX
        -> HQ issues a bound credential (cwt), a fresh device key makes the proof (cryptography);
           prints {"ag2": AG2 text, "holder_x963": hex of the device's public point}
    ag2_interop.py verify ISSUER_PUBLIC_JWK AG2_TEXT
        -> checks the credential (cwt) and the proof under its cnf key (cryptography);
           prints {"sub": …, "cti": hex, "proof_time": int}; exits 1 when a check fails
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
    numbers = device_public_key.public_numbers()
    cose_key = {
        1: 2,                                   # kty: EC2
        -1: 1,                                  # crv: P-256
        -2: numbers.x.to_bytes(32, "big"),      # x
        -3: numbers.y.to_bytes(32, "big"),      # y
    }
    # tagged=False: tag 18 only, not 61(18(…)); every byte counts in the QR code.
    return cwt.encode({**claims, 8: {1: cose_key}}, hq_key, tagged=False)


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


def main() -> int:
    cmd = sys.argv[1]
    hq_key = COSEKey.from_jwk(json.load(open(sys.argv[2])))
    if cmd == "issue":
        iss, sub, aud, exp, cti = sys.argv[3:8]
        now = int(time.time())
        device_key = ec.generate_private_key(ec.SECP256R1())
        claims = {1: iss, 2: sub, 3: aud, 4: int(exp), 6: now, 7: bytes.fromhex(cti), -65537: "booking-5521"}
        credential = issue_bound_credential(hq_key, claims, device_key.public_key())
        proof = make_proof(credential, device_key, now)
        point = device_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        print(json.dumps({"ag2": ag2_text(credential, proof), "holder_x963": point.hex()}))
        return 0
    if cmd == "verify":
        text = sys.argv[3]
        assert text.startswith("AG2:"), "no AG2: prefix"
        credential, proof = cbor2.loads(b45decode(text[4:]))
        claims = cwt.decode(credential, hq_key)
        cose_key = claims[8][1]
        assert (cose_key[1], cose_key[-1]) == (2, 1), "cnf is not an EC2 P-256 key"
        holder = ec.EllipticCurvePublicNumbers(
            int.from_bytes(cose_key[-2], "big"), int.from_bytes(cose_key[-3], "big"), ec.SECP256R1()
        ).public_key()
        try:
            proof_time = verify_proof(proof, credential, holder)
        except (InvalidSignature, AssertionError) as error:
            print(f"proof refused: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        print(json.dumps({"sub": claims[2], "cti": claims[7].hex(), "proof_time": proof_time}))
        return 0
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
