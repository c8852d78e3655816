#!/usr/bin/env python3
"""Writes the Fuzzing section of docs/BENCHMARKS.md from Tests/Fuzz/runs.csv.

    python3 Tests/Fuzz/report.py --csv Tests/Fuzz/runs.csv --doc docs/BENCHMARKS.md

The section sits between the markers <!-- fuzz --> and <!-- /fuzz -->: it replaces an existing
block, or is appended. scripts/bench.py keeps the block when `make bench` rewrites the file.
Tests/Fuzz/findings.md, when present, is included as the list of findings and their fixes.
"""
import argparse
import csv
import os
import sys

BEGIN, END = "<!-- fuzz -->", "<!-- /fuzz -->"
HERE = os.path.dirname(os.path.abspath(__file__))
# The machine is described as make bench describes it.
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from bench import machine  # noqa: E402

ENTRY = {
    "cbor": "`CBORDecoder.decode`; encode/decode round trip",
    "cose": "`COSESign1(cbor:decoder:)`, crit, alg, kid, Sig_structure, `AG1Pass(cose:)`; re-encoding",
    "ag1": "`PassVerifier.verify(text, door:, now:)`; AG2 `AG2Code.parse` (v1, v2), credential, `verifyProof`",
    "base45": "`Base45.decode`; round trips both ways",
    "snapshot": "`SnapshotDocument.parse` (full and delta) and what apply reads; JSONEncoder round trip (no `apply`)",
    "hqcommand": "`HQCommand.parse`; `HQCommand.open` (`SignedDocument.open`) under a pinned root key",
}


def reproducers(target):
    folder = os.path.join(HERE, "regressions", target)
    return len([n for n in os.listdir(folder) if not n.startswith(".")]) if os.path.isdir(folder) else 0


def section(rows):
    targets = list(ENTRY)
    dates = sorted(r["date"] for r in rows)
    out = [BEGIN, "## Fuzzing\n",
           "`make fuzz` (`scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]`, 300 s per target by default; not part of "
           "`make test`): one libFuzzer binary per parser that takes untrusted bytes, built by SwiftPM with "
           "`-sanitize=fuzzer,address` from the package `Tests/Fuzz`, whose harnesses import the project's modules "
           "they exercise (those, the harnesses and swift-crypto's Swift layer are instrumented; BoringSSL, zlib "
           "and Foundation are not). Seeds come from "
           "`../shared` (AG1 and KeyCache vectors, the COSE WG examples, the EU DCC codes) through "
           "`Tests/Fuzz/make_seeds.py`, from passes and commands the harnesses sign with fixed fuzz keys, and from "
           "the edge inputs in `Tests/Fuzz/edge`; each target's corpus grows in `.build-fuzz/fuzz/corpus` across runs. "
           "Besides crashes (traps, ASan reports, `-timeout=5` hangs, `-rss_limit_mb=2048`), the harnesses check "
           "round trips (decode → encode → decode). A finding is minimised into `Tests/Fuzz/regressions/<target>/`, "
           "which `make test` replays (`FuzzRegressionTests`) with the committed edge inputs.\n",
           f"- Machine: {machine()}, shared with other builds during the runs (two targets at a time); "
           "ASan without allocation stacks (`malloc_context_size=0`).",
           (f"- Recorded runs: `Tests/Fuzz/runs.csv`, {len(rows)} runs, " +
            (f"on {dates[0][:10]}." if dates[0][:10] == dates[-1][:10] else f"from {dates[0][:10]} to {dates[-1][:10]}."))
           if rows else "- Recorded runs: none yet.",
           "- cov: edges reached, of the instrumented edges the binary holds (its harness, the modules it imports "
           "and swift-crypto's Swift layer; the runs before the SwiftPM build compiled in only the project's "
           "sources, about a fifth as many edges); ft: libFuzzer's features (edges with hit counts, compared "
           "values). Both from the latest run, which starts from the corpus of the earlier ones.",
           "- findings: crashes, hangs and broken properties in the recorded runs; reproducers: the inputs in "
           "`Tests/Fuzz/regressions/<target>/`, whatever run found them (see below).\n",
           "| target | what it runs | runs | seconds | executions | exec/s | cov (of edges) | ft | corpus | findings "
           "| reproducers |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in targets:
        rs = [r for r in rows if r["target"] == t]
        if not rs:
            out.append(f"| {t} | {ENTRY[t]} | 0 | | | | | | | | {reproducers(t)} |")
            continue
        secs = sum(int(r["seconds"]) for r in rs)
        execs = sum(int(r["executions"]) for r in rs)
        last = rs[-1]
        found = sum(int(r["crashes"]) for r in rs)
        out.append(f"| {t} | {ENTRY[t]} | {len(rs)} | {secs:,} | {execs:,} | {execs / max(secs, 1):,.0f} | "
                   f"{int(last['cov']):,} ({int(last['edges']):,}) | {int(last['ft']):,} | {int(last['corpus']):,} | "
                   f"{found} | {reproducers(t)} |")
    out.append("")
    short = [(t, sum(int(r["executions"]) for r in rows if r["target"] == t)) for t in targets]
    short = [(t, n) for t, n in short if n < 10_000_000]
    if short:
        out.append("Below 10 M executions so far: " + ", ".join(f"{t} ({n / 1e6:.1f} M)" for t, n in short) +
                   "; `scripts/fuzz.sh SECONDS " + " ".join(t for t, _ in short) + "` adds to them.\n")
    findings = os.path.join(HERE, "findings.md")
    if os.path.exists(findings):
        out.append(open(findings).read().rstrip() + "\n")
    out.append(END)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--doc", required=True)
    args = ap.parse_args()
    rows = list(csv.DictReader(open(args.csv))) if os.path.exists(args.csv) else []
    block = section(rows)
    doc = open(args.doc).read() if os.path.exists(args.doc) else "# Benchmarks\n"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        doc = head + block + (("\n" + tail) if tail else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    with open(args.doc, "w") as f:
        f.write(doc)
    print("wrote the Fuzzing section of", args.doc)


if __name__ == "__main__":
    main()
