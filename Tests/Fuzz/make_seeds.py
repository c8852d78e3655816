#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the shared vectors (../shared) and the docs.

    python3 Tests/Fuzz/make_seeds.py --shared ../shared --out .build-fuzz/fuzz/seeds

Writes one folder per target, one input per file:
- cbor: every COSE message (COSE WG examples, EU DCC, AG1 passes after Base45), the WG's
  Sig_structures and CWT claim maps, and the AG1 claim maps inside the passes;
- cose: the COSE messages;
- ag1: the AG1 pass texts of vectors/ag1 and vectors/keycache (the ag1 harness adds passes and AG2
  codes signed with its fuzz keys);
- base45: the Base45 bodies of those passes and of the DCC codes;
- snapshot: the KeyCache scenario snapshot, smaller snapshots and deltas made from it;
- hqcommand: the command of docs/hq-protocol.md (the hqcommand harness adds signed ones).
Then the committed edge inputs of Tests/Fuzz/edge/<target>/ are added. Standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = ["cbor", "cose", "ag1", "base45", "snapshot", "hqcommand"]
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45decode(text):
    out = bytearray()
    for i in range(0, len(text), 3):
        group = text[i:i + 3]
        n = sum(B45.index(c) * 45 ** k for k, c in enumerate(group))
        out += n.to_bytes(2 if len(group) == 3 else 1, "big")
    return bytes(out)


def cbor_items(data):
    """The top-level item's direct byte-string children, for definite-length arrays only (enough to
    pull payloads out of COSE_Sign1 messages); [] when the shape is anything else."""
    pos = 0

    def head():
        nonlocal pos
        b = data[pos]
        pos += 1
        major, info = b >> 5, b & 31
        if info < 24:
            return major, info
        size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
        if size is None:
            raise ValueError("indefinite")
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
        return major, n

    try:
        major, n = head()
        while major == 6:  # tags
            major, n = head()
        if major != 4:
            return []
        out = []
        for _ in range(n):
            m, length = head()
            if m in (2, 3):
                out.append(data[pos:pos + length])
                pos += length
            elif m == 5 and length == 0:
                out.append(b"\xa0")
            elif m in (0, 1, 7):
                pass
            else:
                return out
        return out
    except (IndexError, ValueError):
        return []


class Seeds:
    def __init__(self, out):
        self.out = out
        self.count = {t: 0 for t in TARGETS}
        for t in TARGETS:
            os.makedirs(os.path.join(out, t), exist_ok=True)

    def add(self, target, data, name=None):
        if isinstance(data, str):
            data = data.encode()
        name = name or hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(self.out, target, re.sub(r"[^A-Za-z0-9_.-]", "_", name)), "wb") as f:
            f.write(data)
        self.count[target] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    vec = os.path.join(args.shared, "vectors")
    seeds = Seeds(args.out)
    cose_messages = []

    # AG1 passes: texts, their Base45 bodies, the COSE inside, the claims inside that.
    passes = []
    for rel in ["ag1/cases.json", "keycache/cases.json"]:
        for case in json.load(open(os.path.join(vec, rel))):
            passes.append((os.path.dirname(rel) + "-" + case["name"], case["qr"]))
    for name, qr in passes:
        if len(qr) <= 2600:
            seeds.add("ag1", qr, name)
        if qr.startswith("AG1:") and len(qr) <= 2048:
            body = qr[4:]
            seeds.add("base45", body, name)
            try:
                cose_messages.append((name, b45decode(body)))
            except (ValueError, OverflowError):
                pass

    # COSE working group examples: messages, Sig_structures, CWT claims.
    for dirpath, _, files in os.walk(os.path.join(vec, "cose-wg")):
        for fname in sorted(files):
            if not fname.endswith(".json"):
                continue
            doc = json.load(open(os.path.join(dirpath, fname)))
            name = "wg-" + fname[:-5]
            cbor_hex = doc.get("output", {}).get("cbor")
            if cbor_hex:
                cose_messages.append((name, bytes.fromhex(cbor_hex)))
            tbs = doc.get("intermediates", {}).get("ToBeSign_hex")
            if tbs:
                seeds.add("cbor", bytes.fromhex(tbs), name + "-tbs")
            plain = doc.get("input", {}).get("plaintext_hex")
            if plain:
                seeds.add("cbor", bytes.fromhex(plain), name + "-claims")

    # EU DCC: Base45 strings and the COSE inside the zlib stream.
    for fname in sorted(os.listdir(os.path.join(vec, "dcc"))):
        if not fname.endswith(".json"):
            continue
        doc = json.load(open(os.path.join(vec, "dcc", fname)))
        name = "dcc-" + fname[:-5]
        if doc.get("base45"):
            seeds.add("base45", doc["base45"], name)
        cose = None
        if doc.get("cose_hex"):
            cose = bytes.fromhex(doc["cose_hex"])
        elif doc.get("compressed_hex"):
            try:
                cose = zlib.decompress(bytes.fromhex(doc["compressed_hex"]))
            except zlib.error:
                pass
        if cose:
            cose_messages.append((name, cose))

    for name, msg in cose_messages:
        seeds.add("cose", msg, name)
        seeds.add("cbor", msg, name)
        parts = cbor_items(msg)
        if len(parts) == 4:
            seeds.add("cbor", parts[0], name + "-protected")
            seeds.add("cbor", parts[2], name + "-payload")

    # Snapshots: the scenario's, a minimal one, and deltas made from it.
    snap = json.load(open(os.path.join(vec, "keycache", "snapshot.json")))
    seeds.add("snapshot", json.dumps(snap), "keycache-snapshot")
    small = dict(snap, members=snap["members"][:2], bookings=snap["bookings"][:2], revoked=snap["revoked"][:1])
    seeds.add("snapshot", json.dumps(small, separators=(",", ":")), "snapshot-small")
    seeds.add("snapshot", json.dumps(dict(snap, keys={"keys": []}, doors=[], members=[], bookings=[], revoked=[])),
              "snapshot-empty")
    delta = {
        "format": "ag-snapshot-delta/1", "base_seq": snap["seq"], "seq": snap["seq"] + 1,
        "generated_at": snap["generated_at"] + 60, "max_age": snap["max_age"],
        "upsert": {"keys": snap["keys"], "doors": snap["doors"][:2], "members": snap["members"][:1],
                   "bookings": snap["bookings"][:1], "revoked": snap["revoked"][:1]},
        "delete": {"members": [snap["members"][-1]["id"]], "bookings": [snap["bookings"][-1]["id"]],
                   "keys": ["k-old"], "doors": ["L0/old"], "revoked": ["00" * 8]},
    }
    seeds.add("snapshot", json.dumps(delta), "delta")
    seeds.add("snapshot", json.dumps({"format": "ag-snapshot-delta/1", "base_seq": 1, "seq": 2}), "delta-minimal")

    # Commands: the documented example, as JSON (mode byte 0).
    proto = open(os.path.join(ROOT, "docs", "hq-protocol.md")).read()
    for i, block in enumerate(re.findall(r"```json\n(.*?)```", proto, re.S)):
        if '"kind": "unlock"' in block or '"kind": "lockdown"' in block:
            seeds.add("hqcommand", b"\x00" + block.strip().encode(), f"doc-command-{i}")

    # The committed edge inputs.
    for t in TARGETS:
        edge = os.path.join(HERE, "edge", t)
        for fname in sorted(os.listdir(edge)) if os.path.isdir(edge) else []:
            if not fname.startswith("."):
                seeds.add(t, open(os.path.join(edge, fname), "rb").read(), "edge-" + fname)

    print("seeds:", ", ".join(f"{t} {n}" for t, n in seeds.count.items()))


if __name__ == "__main__":
    main()
