#!/usr/bin/env python3
"""Independent verifier of an AccessGateway audit chain (docs/hq-protocol.md, "Audit chain").

    audit_verify.py GATEWAY.sqlite

Prints the number of events checked and exits 0 when the chain is intact; otherwise names the
first bad seq and exits 1. It reads the database with python's sqlite3 only, so security staff can
check a copy of the file without trusting the gateway's own code.
"""
import hashlib
import sqlite3
import struct
import sys

FIELDS = ["seq", "ts_ms", "gateway", "door", "kind", "granted", "reason", "member", "pass", "booking", "detail"]


def canonical(row):
    out = bytearray()
    for name in FIELDS:
        value = row[name]
        if value is None:
            out += b"\xff\xff\xff\xff"
            continue
        data = str(int(value)).encode() if name in ("seq", "ts_ms", "granted") else value.encode("utf-8")
        out += struct.pack(">I", len(data)) + data
    return bytes(out)


def main():
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    state = dict(db.execute("SELECT key, value FROM gateway_state").fetchall())
    expected = int(state.get("checkpoint_seq", "0"))
    prev = state.get("checkpoint_hash", "0" * 64)
    count = 0
    for row in db.execute("SELECT * FROM audit_events ORDER BY seq"):
        expected += 1
        if row["seq"] != expected:
            print(f"broken at seq {min(expected, row['seq'])}: sequence gap or reorder")
            return 1
        if row["prev_hash"] != prev:
            print(f"broken at seq {expected}: prev_hash does not link")
            return 1
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical(row)).hexdigest()
        if digest != row["hash"]:
            print(f"broken at seq {expected}: hash mismatch")
            return 1
        prev = digest
        count += 1
    if int(state.get("head_seq", "0")) != expected or state.get("head_hash", "0" * 64) != prev:
        print(f"broken at seq {expected + 1}: the newest events are missing")
        return 1
    print(f"{count} events intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
