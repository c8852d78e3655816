#!/usr/bin/env python3
"""Interop peer for the AG1 tests: issues and verifies passes with the python `cwt` library.

    cwt_interop.py issue PRIVATE_JWK_FILE ISS SUB AUD EXP CTI_HEX   -> prints the AG1 text
    cwt_interop.py verify PUBLIC_JWK_FILE AG1_TEXT                  -> prints the claims as JSON

A pass cwt refuses exits 1 with "refused: ERROR_CLASS: message" on standard error, so a test can
tell cwt's verdict from a crash (an ImportError, a missing python3) that also exits non-zero.
"""
import json
import sys
import time

import cwt
from cwt import COSEKey

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 2):
        chunk = data[i:i + 2]
        n = int.from_bytes(chunk, "big")
        digits = 3 if len(chunk) == 2 else 2
        for _ in range(digits):
            out.append(ALPHABET[n % 45])
            n //= 45
    return "".join(out)


def b45decode(text: str) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 3):
        group = text[i:i + 3]
        n = sum(ALPHABET.index(c) * 45 ** j for j, c in enumerate(group))
        out += n.to_bytes(2 if len(group) == 3 else 1, "big")
    return bytes(out)


def main() -> int:
    cmd = sys.argv[1]
    jwk = json.load(open(sys.argv[2]))
    key = COSEKey.from_jwk(jwk)
    if cmd == "issue":
        iss, sub, aud, exp, cti = sys.argv[3:8]
        now = int(time.time())
        claims = {1: iss, 2: sub, 3: aud, 4: int(exp), 5: now - 60, 6: now - 60, 7: bytes.fromhex(cti)}
        token = cwt.encode(claims, key, tagged=True)
        print("AG1:" + b45encode(token))
        return 0
    if cmd == "verify":
        text = sys.argv[3]
        assert text.startswith("AG1:"), "no AG1: prefix"
        try:
            claims = cwt.decode(b45decode(text[4:]), key)
        except cwt.CWTError as error:
            print(f"refused: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        printable = {str(k): (v.hex() if isinstance(v, bytes) else v) for k, v in claims.items()}
        print(json.dumps(printable, sort_keys=True))
        return 0
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
