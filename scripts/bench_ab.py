#!/usr/bin/env python3
"""The hot path of two builds, A and B, interleaved on one machine: `ag-bench keycache` (1 M bookings)
and `ag-bench ag2` from each build in turn, on one core, the order swapped every round, so both see
the same noise. Prints the median over rounds of each figure, and B / A.

    scripts/bench_ab.py --a OLD/.build/release --b .build/release [--rounds 6] [--json out.json]
    scripts/bench_ab.py --from out.json      # the table again, from a saved run

Not part of `make bench`: it answers "did this change make the hot path slower?" on a machine too
noisy for two runs an hour apart to say."""
import argparse, json, os, statistics, subprocess, tempfile, time

FIGURES = [  # (label, how to read it from a round, unit)
    ("decision p50, 1 M bookings", lambda r: r["kc"]["decision_p50_ms"], "ms"),
    ("decision p99, 1 M bookings", lambda r: r["kc"]["decision_p99_ms"], "ms"),
    ("durable append per event", lambda r: r["kc"]["append_full_ms"], "ms"),
    ("full snapshot apply", lambda r: r["kc"]["apply_ms"] / 1000, "s"),
    ("delta of 1 k changes", lambda r: r["kc"]["delta_1k_ms"], "ms"),
    ("AG1 token checks, median", lambda r: r["ag1"]["token_us"]["median"], "µs"),
    ("AG2 token checks, median", lambda r: r["ag2"]["token_us"]["median"], "µs"),
    ("AG1 decision on the store, median", lambda r: r["ag1"]["decision_ms"]["median"], "ms"),
    ("AG2 decision on the store, median", lambda r: r["ag2"]["decision_ms"]["median"], "ms"),
    ("AG2 decision on the store, p99", lambda r: r["ag2"]["decision_ms"]["p99"], "ms"),
    ("AG1 decode + decision per frame, median", lambda r: r["ag1"]["frame"]["total_ms"]["median"], "ms"),
    ("AG2 decode + decision per frame, median", lambda r: r["ag2"]["frame"]["total_ms"]["median"], "ms"),
]


def one_round(bench, work):
    def run(cmd):
        return json.loads(subprocess.run(["taskset", "-c", "0"] + cmd, capture_output=True, text=True,
                                         check=True).stdout)
    for sub in ("kc", "ag2"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    kc = run([bench, "keycache", os.path.join(work, "kc"), "1"])
    ag = run([bench, "ag2", os.path.join(work, "ag2"), "3000", "200"])["ag2"]
    return {"kc": kc, "ag1": ag["ag1"], "ag2": ag["ag2"], "load": os.getloadavg()[0]}


def table(res):
    n = min(len(res["a"]), len(res["b"]))
    lines = [f"| figure | A, median of {n} rounds | B, median of {n} rounds | B / A | rounds B was faster |",
             "|---|---|---|---|---|"]
    for label, get, unit in FIGURES:
        a = [get(r) for r in res["a"][:n]]
        b = [get(r) for r in res["b"][:n]]
        ma, mb = statistics.median(a), statistics.median(b)
        faster = sum(1 for x, y in zip(a, b) if y < x)
        lines.append(f"| {label} | {ma:.3f} {unit} | {mb:.3f} {unit} | {mb / ma:.2f} | {faster} of {n} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", help="directory holding build A's release ag-bench")
    ap.add_argument("--b", help="directory holding build B's release ag-bench")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--json", help="save the rounds here")
    ap.add_argument("--from", dest="saved", help="print the table of a saved run")
    args = ap.parse_args()
    if args.saved:
        print(table(json.load(open(args.saved))))
        return
    if not (args.a and args.b):
        ap.error("--a and --b, or --from")
    res = {"a": [], "b": []}
    with tempfile.TemporaryDirectory(prefix="ag-bench-ab-") as tmp:
        for i in range(args.rounds):
            order = ["a", "b"] if i % 2 == 0 else ["b", "a"]
            for name in order:
                t = time.time()
                res[name].append(one_round(os.path.join(getattr(args, name), "ag-bench"),
                                           os.path.join(tmp, name)))
                print(f"round {i + 1}: {name.upper()} in {time.time() - t:.0f} s", flush=True)
            if args.json:
                json.dump(res, open(args.json, "w"), indent=1)
    print(table(res))


if __name__ == "__main__":
    main()
