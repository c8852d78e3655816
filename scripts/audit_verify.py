#!/usr/bin/env python3
"""Independent verifier of an AccessGateway audit chain (docs/hq-protocol.md, "Audit chain").

    audit_verify.py GATEWAY.sqlite
    audit_verify.py --jsonl EVENTS.jsonl     (one gateway's events as uploaded, e.g. `access-hq-dev events`)

Prints the number of events checked and exits 0 when the chain is intact; otherwise names the
first bad seq and exits 1. It reads the database with python's sqlite3 only, so security staff can
check a copy of the file without trusting the gateway's own code.
"""
import hashlib
import json
import re
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


# The upload format carries detail as the exact stored JSON text, between these two keys.
RAW_DETAIL = re.compile(r',"detail":(.*),"prev_hash":"[0-9a-f]{64}","hash":"[0-9a-f]{64}"}$')


def walk(rows, expected, prev):
    """Checks rows in seq order from (expected, prev); returns (error or None, last seq, head, count)."""
    count = 0
    for row in rows:
        expected += 1
        if row["seq"] != expected:
            return f"broken at seq {min(expected, row['seq'])}: sequence gap or reorder", expected, prev, count
        if row["prev_hash"] != prev:
            return f"broken at seq {expected}: prev_hash does not link", expected, prev, count
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical(row)).hexdigest()
        if digest != row["hash"]:
            return f"broken at seq {expected}: hash mismatch", expected, prev, count
        prev, count = digest, count + 1
    return None, expected, prev, count


def uploaded_rows(path):
    """One gateway's uploaded events, each with its detail as the exact stored text."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line:
                continue
            match = RAW_DETAIL.search(line)
            if not match:
                raise SystemExit(f"unreadable event: {line[:80]}")
            yield dict(json.loads(line), detail=match.group(1))


def main():
    if sys.argv[1] == "--jsonl":
        # HQ's copy starts at seq 1, from the genesis hash.
        error, _, head, count = walk(uploaded_rows(sys.argv[2]), 0, "0" * 64)
        print(error or f"{count} events intact, head {head[:16]}…")
        return 1 if error else 0
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    state = dict(db.execute("SELECT key, value FROM gateway_state").fetchall())
    start = int(state.get("checkpoint_seq", "0"))
    cursor, head_seq = int(state.get("upload_cursor", "0")), int(state.get("head_seq", "0"))
    # HQ acknowledged every event up to the cursor: pruning never passes it, and the head never is below it.
    if start > cursor:
        print(f"broken at seq {cursor + 1}: events up to {start} are gone, but HQ only acknowledged {cursor}")
        return 1
    if head_seq < cursor:
        print(f"broken at seq {head_seq + 1}: the head is below the upload cursor {cursor}")
        return 1
    rows = db.execute("SELECT * FROM audit_events ORDER BY seq")
    error, expected, prev, count = walk(rows, start, state.get("checkpoint_hash", "0" * 64))
    if error:
        print(error)
        return 1
    if int(state.get("head_seq", "0")) != expected or state.get("head_hash", "0" * 64) != prev:
        print(f"broken at seq {expected + 1}: the newest events are missing")
        return 1
    print(f"{count} events intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
