#!/usr/bin/env python3
"""make bench: decode and verification benchmarks, written to docs/BENCHMARKS.md.

Decoding: a corpus from ../shared/tools/qrcorpus/gen_corpus.py, timed on one core (taskset -c 0)
with `gatewayctl qr decode --json` (its `ms` is the decode alone) and, in the same run, with the
plain-zbar C harness zbar_bench.c. Verification: ag-bench, full AG1 verification per pass.

Sections between marker comments (`<!-- name -->` … `<!-- /name -->`) can be rewritten alone with
`--only NAME[,NAME]` (pipeline, keycache, drain, load), leaving the rest of the file as it is. A full
run rewrites the file but keeps the marked blocks it does not make itself (`load`, which
`make load` writes; `fuzz`, which `make fuzz` writes).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

REPEATS = 3  # gatewayctl passes over the corpus; the median per frame is kept
ZBAR_REPEATS = 5


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def one_core(cmd):
    return ["taskset", "-c", "0"] + cmd if shutil_which("taskset") else cmd


def shutil_which(name):
    from shutil import which
    return which(name)


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round((len(s) - 1) * p))]


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def keycache_section(bin_dir):
    """The store's figures, from ag-bench keycache on a generated 1 M-booking snapshot."""
    work = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build-bench", "keycache")
    os.makedirs(work, exist_ok=True)
    print("timing the KeyCache store ...", flush=True)
    r = json.loads(subprocess.run(one_core([os.path.join(bin_dir, "ag-bench"), "keycache", work, "1"]),
                                  capture_output=True, text=True, check=True).stdout)

    def verdict(value, target, unit):
        return f"{value:.2f} {unit}", f"≤ {target} {unit}", "met" if value <= target else "**missed**"

    rows = [
        ("decision latency p50 (no QR decode)", f"{r['decision_p50_ms']:.3f} ms", "", ""),
        ("decision latency p99 (no QR decode)", *verdict(r["decision_p99_ms"], 1, "ms")),
        ("full snapshot apply", *verdict(r["apply_ms"] / 1000, 3, "s")),
        ("full snapshot JSON parse (before apply)", f"{r['parse_ms'] / 1000:.2f} s", "", ""),
        ("delta of 1 k changes", *verdict(r["delta_1k_ms"], 50, "ms")),
        (f"decision p99 while a full apply runs ({r['decisions_during_apply']} decisions)",
         f"{r['during_apply_p99_ms']:.2f} ms", "", f"max {r['during_apply_max_ms']:.1f} ms"),
        ("durable append per event (synchronous=FULL)", *verdict(r["append_full_ms"], 0.2, "ms")),
        ("append per event with synchronous=NORMAL, for comparison", f"{r['append_normal_ms']:.3f} ms", "", ""),
        ("database file after two full applies", f"{r['db_mb']:.0f} MB", "", ""),
    ]
    out = ["## KeyCache store\n",
           f"A generated snapshot of {r['bookings']:,} bookings, {r['members']:,} members and {r['revoked']:,} "
           f"revoked passes ({r['snapshot_mb']:.0f} MB of JSON), in a fresh database on the local disk. Decisions "
           "walk every check: signature, revocation, member, booking, door, schedule, and the durable audit append. "
           "The 1 k delta is 500 booking upserts and 500 deletions.\n",
           "| figure | measured | target | |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out.append("")
    return out


def pipeline_section(bin_dir):
    """Scan → relay latency and idle CPU, from ag-bench pipeline and ag-bench idle."""
    work = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build-bench", "pipeline")
    os.makedirs(work, exist_ok=True)
    bench = os.path.join(bin_dir, "ag-bench")

    def run(cmd):
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    print("timing scan → relay ...", flush=True)
    runs = [("both cores", r) for r in run([bench, "pipeline", work, "150"])["pipeline"]]
    runs += [("one core", r) for r in run(one_core([bench, "pipeline", work, "150"]))["pipeline"]]
    print("timing the idle scan loop ...", flush=True)
    idle = run([bench, "idle", "10"])["idle"]
    out = ["## Scan → relay\n",
           "From the first 640×480 frame that shows a pass being handed to the pipeline, to the in-memory relay "
           "asserted. In between: the capture thread's latest-frame mailbox, decoding within the per-frame budget, "
           "the scan gate, the decision with its audit event appended durably (synchronous=FULL, a real file), and "
           "the door controller's thread. The camera stand-in runs at 30 fps over a textured scene; each trial "
           "shows a fresh pass at a new place until the relay moves, then takes it away.\n",
           "| decoders | cores | trials | missed | p50 ms | p99 ms | max ms | decode p50 ms | record + command p50 ms | target |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for cores, r in runs:
        target = "p99 ≤ 10 ms: " + ("met" if r["scan_to_relay_ms_p99"] <= 10 else "**missed**")
        out.append(f"| {r['decoders']} | {cores} | {r['trials']} | {r['missed']} | {r['scan_to_relay_ms_p50']:.2f} | "
                   f"{r['scan_to_relay_ms_p99']:.2f} | {r['scan_to_relay_ms_max']:.1f} | {r['decode_ms_p50']:.2f} | "
                   f"{r['record_and_command_ms_p50']:.2f} | {target} |")
    out += ["",
            "zbar alone scans one polarity per frame (`QRStreamScanner`), so a code that arrives on the other "
            "polarity's frame waits for the next frame: about one frame interval (33 ms) on half the trials.\n",
            "### CPU with no code in view\n",
            "The scan loop alone on a 30 fps stream of the textured scene, for 10 s after 1 s of warm-up; "
            "process CPU time over wall time.\n",
            "| decoders | fps | CPU, % of one core | decode p50 ms |", "|---|---|---|---|"]
    for r in idle:
        out.append(f"| {r['decoders']} | {r['fps']:.1f} | {r['cpu_percent_of_one_core']:.1f} % | {r['decode_ms_p50']:.2f} |")
    out.append("")
    return out


def drain_section(bin_dir):
    """The audit backlog's drain to the reference HQ on loopback, from ag-bench drain."""
    work = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build-bench", "drain")
    os.makedirs(work, exist_ok=True)
    print("timing the audit drain (1 M events) ...", flush=True)
    r = json.loads(subprocess.run([os.path.join(bin_dir, "ag-bench"), "drain", work,
                                   os.path.join(bin_dir, "access-hq-dev"), "1000000"],
                                  capture_output=True, text=True, check=True).stdout)["drain"]
    verdict = "met" if r["events_per_s"] >= 20000 else "**missed**"
    return ["## Audit drain\n",
            "A backlog of 1,000,000 events (as after a long outage) uploaded by `GatewaySync.uploadBacklog` to "
            "`access-hq-dev` on loopback, in batches of 1,000: the gateway reads each batch from its store, HQ checks "
            "every hash and the chain's continuity and stores the batch in one durable transaction, and only then "
            "does the gateway advance its cursor. Both processes share this machine's two cores.\n",
            "| figure | measured | target | |", "|---|---|---|---|",
            f"| drain rate | {r['events_per_s']:,.0f} events/s | ≥ 20,000 events/s | {verdict} |",
            f"| drain time | {r['seconds']:.1f} s | | |",
            f"| gateway RSS before → after | {r['rss_mb_before']:.0f} → {r['rss_mb_after']:.0f} MB | bounded | |",
            ""]


def load_section(bin_dir, seconds, rate, saved=None):
    """Sustained scans from the looped folder camera, the upload loop draining to access-hq-dev, from
    ag-bench load; its figures are kept in .build-bench/load/load.json, and `saved` (such a file)
    writes the section again from them without a run."""
    work = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build-bench", "load")
    os.makedirs(work, exist_ok=True)
    if saved:
        r = json.load(open(saved))
    else:
        load_before = os.getloadavg()
        print(f"sustained load: {rate:g} scans/s for {seconds:g} s (load average {load_before[0]:.1f}) ...",
              flush=True)
        r = json.loads(subprocess.run([os.path.join(bin_dir, "ag-bench"), "load", work,
                                       os.path.join(bin_dir, "access-hq-dev"), f"{seconds:g}", f"{rate:g}"],
                                      capture_output=True, text=True, check=True).stdout)["load"]
        r.update(load_average_before=load_before[0], load_average_after=os.getloadavg()[0],
                 date=datetime.date.today().isoformat(), machine=machine())
        with open(os.path.join(work, "load.json"), "w") as f:  # every figure, with the 10 s samples
            json.dump(r, f, indent=1)
    rate = r["rate_fps"]
    load_before, load_after = r["load_average_before"], r["load_average_after"]

    def verdict(ok):
        return "met" if ok else "**missed**"

    minutes = r["per_minute"]
    first, last = minutes[0], minutes[-1]
    backlog_bound = 2 * rate * r["upload_interval_s"]
    garbage, repeats = r["garbage"], r["repeats"]
    blocked, invalid = repeats["blocked"], repeats["repeated_invalid"]
    garbage_share = garbage["rate_limited"] / garbage["count"] * 100 if garbage["count"] else 0
    limiting_ok = (r["valid_never_rate_limited"] and r["valid_not_granted"] == 0 and garbage_share >= 90
                   and all(x["texts_rate_limited"] == x["texts"] for x in (blocked, invalid)))
    most_denials = max(invalid["most_denials_in_60s"], blocked["most_denials_in_60s"])
    denied_limit, garbage_limit = invalid.get("limit", 3), garbage.get("limit", 20)
    over_limit = most_denials > denied_limit or garbage["most_decided_in_60s"] > garbage_limit
    flood, outside = r["valid_in_flood"], r["valid_outside_flood"]
    cycle = r["cycle"]
    rows = [
        ("scans decided", f"{r['scans_per_s']:.1f} /s ({r['decisions']:,} in {r['seconds']:.0f} s); camera "
         f"{r['frames_per_s']:.1f} fps, {r['dropped']} frames dropped", f"{rate:g} /s sustained",
         verdict(r["scans_per_s"] >= 0.98 * rate)),
        ("gateway RSS", f"{r['rss_mb_first']:.0f} → {r['rss_mb_last']:.0f} MB (max {r['rss_mb_max']:.0f}); "
         f"{r['rss_mb_per_min_after_1min']:+.2f} MB/min after the first minute", "< 1 MB/min after the first minute",
         verdict(r["rss_mb_per_min_after_1min"] < 1)),
        ("scan → relay p99, valid members", f"{first['valid_p99_ms']:.2f} ms in minute 1, "
         f"{last['valid_p99_ms']:.2f} ms in minute {last['minute']}", "last ≤ 2 × first",
         verdict(last["valid_p99_ms"] <= 2 * first["valid_p99_ms"])),
        ("upload backlog", f"max {r['backlog_max']}, {r['backlog_last']} at the end, "
         f"{r['backlog_after_final_upload']} after a last upload",
         f"< {backlog_bound:g} at the end (2 × rate × {r['upload_interval_s']} s)",
         verdict(r["backlog_last"] < backlog_bound)),
        ("rate limiting", f"garbage: {garbage['rate_limited']:,} of {garbage['count']:,} `rate_limited` "
         f"({garbage_share:.1f} %), at most {garbage['most_decided_in_60s']} decided in 60 s (limit {garbage_limit}); repeated "
         f"denials: {invalid['texts_rate_limited']}/{invalid['texts']} invalid and {blocked['texts_rate_limited']}/"
         f"{blocked['texts']} blocked passes reached `rate_limited`, at most {most_denials} denials of one pass in "
         f"60 s (limit {denied_limit}){'*' if over_limit else ''}; valid passes not granted: {r['valid_not_granted']}",
         "floods and repeated denials end `rate_limited`, valid passes never", verdict(limiting_ok)),
        ("scan → relay, valid members within garbage bursts", f"p50 {flood['p50_ms']:.2f}, p99 {flood['p99_ms']:.2f} ms "
         f"({flood['count']:,}); outside: p50 {outside['p50_ms']:.2f}, p99 {outside['p99_ms']:.2f} ms "
         f"({outside['count']:,})", "not slowed: p99 ≤ 2 × outside",
         verdict(flood["p99_ms"] <= 2 * outside["p99_ms"])),
    ]
    busy = max(load_before, load_after) > 3
    out = ["## Sustained load\n",
           f"`make load` on {r['date']}. Machine: {r['machine']}; load average "
           f"{load_before:.1f} before the run and {load_after:.1f} after it"
           + (" (other builds were running, so the gateway shared the cores with them)" if busy else "")
           + f". {r.get('build', 'release').capitalize()} build, both cores.\n",
           f"`ag-bench load`: the folder camera (`PGMFolderSource`, looped) plays a cycle of {r['cycle_frames']} "
           f"320×240 frames at {rate:g} fps ({r['cycle_seconds']:g} s) for {r['seconds']:.0f} s, one code per frame, "
           "into a whole door pipeline: the scan loop, the rate limiter, the decision recorded durably in a store "
           "file, and the door controller on its thread over the in-memory board. The store holds the demo site and "
           "is enrolled with `access-hq-dev` on loopback; `GatewaySync.runUploadLoop` uploads the audit backlog "
           f"every {r['upload_interval_s']} s meanwhile. The cycle: {cycle.get('valid', 0)} valid passes, each shown "
           f"once a cycle, so rescanned every {r['cycle_seconds']:g} s, past the 3 s scan cooldown; "
           f"{cycle.get('blocked', 0)} passes of a blocked member; {invalid['texts']} invalid passes (expired, for "
           "another door, signed by an unknown key), each shown 3 times a cycle, 4 s apart; "
           f"{cycle.get('garbage', 0)} codes that are not passes (\"hello\", URLs, Wi-Fi codes) in two bursts a "
           "cycle, with a valid pass every third frame of a burst. Scan → relay runs from the frame handed to the "
           "scan loop to the door commanded (the relay, for a grant), the durable audit append included. RSS, "
           "the upload backlog (a sawtooth between uploads, from 0 to about 2 s of scans) and the counts are "
           "sampled every 10 s.\n",
           "| claim | measured | target | |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    if over_limit:
        spans = [x["shortest_span_over_limit_s"] for x in (invalid, blocked, garbage) if "shortest_span_over_limit_s" in x]
        out += ["", "\\* One more than the limit, on the window's edge: the cycle repeats each code every "
                f"{r['cycle_seconds']:g} s, so a code can come back just 60 s after an earlier showing, when the "
                "limiter (whose clock is read as a decision starts) has just forgotten that one; timed here by when "
                "the door was commanded, a few milliseconds later, the two can fall within 60 s."
                + (f" The one past the limit came at least {min(spans):.3f} s after the first." if spans else "")]
    out += ["", "### Valid members' scan → relay, per minute\n",
            "| minute | decisions | valid members | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|---|"]
    for m in minutes:
        out.append(f"| {m['minute']} | {m['decisions']:,} | {m['valid']:,} | {m['valid_p50_ms']:.2f} | "
                   f"{m['valid_p99_ms']:.2f} | {m['valid_max_ms']:.1f} |")
    reasons = sorted({k for v in r["by_kind"].values() for k in v},
                     key=lambda k: (k == "rate_limited", k != "granted", k))
    out += ["", "### Outcomes\n", "| shown | " + " | ".join(f"`{k}`" for k in reasons) + " |",
            "|---|" + "---|" * len(reasons)]
    for kind in ["valid", "blocked", "repeated_invalid", "garbage", "unknown"]:
        if kind in r["by_kind"]:
            counts = r["by_kind"][kind]
            out.append(f"| {kind.replace('_', ' ')} | " + " | ".join(f"{counts.get(k, 0):,}" for k in reasons) + " |")
    out.append("| all | " + " | ".join(f"{r['totals'].get(k, 0):,}" for k in reasons) + " |")
    out += ["", f"Decode p50 {r['decode_ms_p50']:.2f} ms and p99 {r['decode_ms_p99']:.2f} ms (the last 1,024 frames); "
            f"the gateway process used {r['cpu_percent_of_one_core']:.0f} % of one core, `access-hq-dev` not counted.",
            ""]
    return out


SECTIONS = {"pipeline": pipeline_section, "keycache": keycache_section, "drain": drain_section, "load": load_section}


def splice(text, name, block):
    """`text` with the block marked `name` replaced by `block` (lines). Without the markers, an unmarked
    copy of the same section (found by its heading) is replaced; failing that, the block goes before
    "## Notes", or at the end."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    body = "\n".join(block).strip("\n")
    wrapped = f"{begin}\n{body}\n\n{end}"  # the blank line ends a table before the marker
    if begin in text and end in text[text.index(begin):]:
        i = text.index(begin)
        return text[:i] + wrapped + text[text.index(end, i) + len(end):]
    lines = text.split("\n")
    heading = body.split("\n")[0]
    if heading.startswith("## ") and heading in lines:
        i = lines.index(heading)
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith(("## ", "<!-- "))), len(lines))
        return "\n".join(lines[:i] + wrapped.split("\n") + [""] + lines[j:])
    if "## Notes" in lines:
        i = lines.index("## Notes")
        return "\n".join(lines[:i] + wrapped.split("\n") + [""] + lines[i:])
    return text.rstrip("\n") + "\n\n" + wrapped + "\n"


def marked_blocks(text):
    """The marked blocks of `text`: (name, inner lines), in order."""
    return [(m.group(1), m.group(2).strip("\n").split("\n"))
            for m in re.finditer(r"<!-- ([\w-]+) -->\n(.*?)<!-- /\1 -->", text, re.S)]


def write_keeping(out, text, made):
    """Writes `text` to `out`, carrying over the marked blocks of the file there that neither `made`
    names nor `text` holds already: before ## Notes, or after it when they stood after it."""
    if os.path.exists(out):
        old = open(out).read()
        notes = old.find("\n## Notes\n")
        for name, inner in marked_blocks(old):
            if name in made or f"<!-- {name} -->" in text:
                continue
            if 0 <= notes < old.index(f"<!-- {name} -->"):
                text = text.rstrip("\n") + f"\n\n<!-- {name} -->\n" + "\n".join(inner) + f"\n\n<!-- /{name} -->\n"
            else:
                text = splice(text, name, inner)
    with open(out, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory holding release gatewayctl and ag-bench")
    ap.add_argument("--shared", help="the shared test vectors and tools (a full run)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus", default="/tmp/ag-corpus")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", help="rewrite only these marked sections of --out: " + ",".join(SECTIONS))
    ap.add_argument("--load-seconds", type=float, default=600)
    ap.add_argument("--load-rate", type=float, default=50)
    ap.add_argument("--load-json", help="write the load section from this saved run (load.json) instead of running")
    args = ap.parse_args()

    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in SECTIONS]
        if unknown:
            ap.error(f"--only: no section {', '.join(unknown)} (sections: {', '.join(SECTIONS)})")
        for name in names:
            block = (load_section(args.bin, args.load_seconds, args.load_rate, args.load_json) if name == "load"
                     else SECTIONS[name](args.bin))
            # Read just before writing: another tool may have rewritten its own block meanwhile.
            text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n"
            with open(args.out, "w") as f:
                f.write(splice(text, name, block))
        print("wrote", ", ".join(names), "in", args.out)
        return
    if not args.shared:
        ap.error("a full run needs --shared")

    tools = os.path.join(args.shared, "tools", "qrcorpus")
    manifest = os.path.join(args.corpus, "manifest.tsv")
    if not os.path.exists(manifest):
        cmd = [sys.executable, os.path.join(tools, "gen_corpus.py"), "--out", args.corpus]
        if args.seed is not None:
            cmd += ["--seed", str(args.seed)]
        print("generating corpus:", " ".join(cmd), flush=True)
        sh(cmd)

    frames = []
    with open(manifest) as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        for row in reader:
            rec = dict(zip(header, row))
            frames.append(rec)
    payload = {k: open(os.path.join(args.corpus, f"payload_{k}.txt")).read() for k in "AB"}
    cols = list(frames[0].keys())
    id_key, path_key, w_key, h_key, pay_key, var_key = cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]

    def frame_path(rec):
        p = rec[path_key]
        return p if os.path.isabs(p) else os.path.join(args.corpus, p)

    # Plain zbar, same frames, same run.
    build = os.path.join(os.path.dirname(os.path.abspath(args.out)), "..", ".build-bench")
    os.makedirs(build, exist_ok=True)
    zbar_bin = os.path.join(build, "zbar_bench")
    cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "zbar"], capture_output=True, text=True).stdout.split()
    sh(["gcc", "-O2", "-Wall", "-o", zbar_bin, os.path.join(tools, "zbar_bench.c")] + cflags)
    zbar_csv = os.path.join(build, "zbar.csv")
    print("timing plain zbar ...", flush=True)
    sh(one_core([zbar_bin, manifest, args.corpus, zbar_csv, str(ZBAR_REPEATS)]))
    zbar = {}
    with open(zbar_csv) as f:
        for row in csv.DictReader(f):
            zbar.setdefault(row["decoder"], {})[row["id"]] = (row["ok"] == "1", float(row["median_ms"]), row["wrong"] == "1")

    # gatewayctl qr decode --json, several passes, one core, for each decoder chain.
    ctl = os.path.join(args.bin, "gatewayctl")
    paths = [frame_path(r) for r in frames]

    def run_gatewayctl(decoder):
        times = {r[id_key]: [] for r in frames}
        results = {}
        print(f"timing gatewayctl qr decode --decoder {decoder} ...", flush=True)
        for _ in range(REPEATS):
            proc = subprocess.run(one_core([ctl, "qr", "decode", "--json", "--decoder", decoder] + paths),
                                  capture_output=True, text=True)
            # Exit status 1 only means some frames held no readable code.
            if proc.returncode not in (0, 1):
                sys.exit(f"gatewayctl failed ({proc.returncode}): {proc.stderr[-2000:]}")
            lines = [json.loads(l) for l in proc.stdout.splitlines()]
            assert len(lines) == len(frames), "gatewayctl printed one line per frame"
            for rec, line in zip(frames, lines):
                expected = payload[rec[pay_key][0]]
                times[rec[id_key]].append(line["ms"])
                results[rec[id_key]] = (expected in line["texts"], None, any(t != expected for t in line["texts"]))
        return {fid: (ok, statistics.median(times[fid]), wrong) for fid, (ok, _, wrong) in results.items()}

    decoders = [
        ("gatewayctl auto (zxing-cpp, zbar, sharpened zxing)", run_gatewayctl("auto")),
        ("gatewayctl zbar (both polarities)", run_gatewayctl("zbar")),
    ] + [(f"plain zbar {name}", zbar[name]) for name in ["zbar_d1", "zbar_d1_inv", "zbar_d2", "zbar_d3"] if name in zbar]

    def summary(results, subset):
        ids = [r[id_key] for r in subset]
        ok = sum(1 for i in ids if results[i][0])
        wrong = sum(1 for i in ids if results[i][2])
        ms = [results[i][1] for i in ids]
        return ok / len(ids) * 100, statistics.median(ms), pct(ms, 0.95), wrong

    sizes = sorted({(int(r[w_key]), int(r[h_key])) for r in frames})
    variants = sorted({r[var_key] for r in frames})

    verify = json.loads(subprocess.run(one_core([os.path.join(args.bin, "ag-bench"), "3000"]), capture_output=True,
                                       text=True, check=True).stdout)

    lines = []
    lines.append("# Benchmarks\n")
    lines.append(f"Written by `make bench` on {datetime.date.today().isoformat()}.\n")
    lines.append(f"- Machine: {machine()}. Shared and noisy: compare medians and ratios, not single figures.")
    lines.append("- Every timing is on one core (`taskset -c 0`), release build.")
    lines.append(f"- Corpus: `gen_corpus.py` from `../shared/tools/qrcorpus`, {len(frames)} frames"
                 f"{'' if args.seed is None else f', seed {args.seed}'} (default seed unless noted).")
    lines.append(f"- gatewayctl: `qr decode --json --decoder auto|zbar`, whose `ms` is the decode alone; median of {REPEATS} passes per frame.")
    lines.append(f"- plain zbar: `zbar_bench.c` in the same run, median of {ZBAR_REPEATS} scans per frame.\n")
    lines.append("## QR decoding\n")
    for (w, h) in sizes:
        subset = [r for r in frames if int(r[w_key]) == w and int(r[h_key]) == h]
        lines.append(f"### {w}×{h} ({len(subset)} frames)\n")
        lines.append("| decoder | success | median ms | p95 ms | wrong payloads |")
        lines.append("|---|---|---|---|---|")
        for name, res in decoders:
            s, med, p95, wrong = summary(res, subset)
            lines.append(f"| {name} | {s:.1f} % | {med:.2f} | {p95:.2f} | {wrong} |")
        lines.append("")
    lines.append("### Success by variant, all sizes\n")
    lines.append("| variant | frames | " + " | ".join(n for n, _ in decoders) + " |")
    lines.append("|---|---|" + "---|" * len(decoders))
    for v in variants:
        subset = [r for r in frames if r[var_key] == v]
        cells = [f"{summary(res, subset)[0]:.0f} %" for _, res in decoders]
        lines.append(f"| {v} | {len(subset)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("## AG1 pass verification\n")
    lines.append("Full path per pass: text → Base45 → CBOR → COSE_Sign1 → signature → claims → decision; "
                 f"{verify['iterations']} passes after 100 warm-up runs.\n")
    lines.append("| algorithm | pass length | median µs | p95 µs |")
    lines.append("|---|---|---|---|")
    for alg in ["ES256", "Ed25519"]:
        r = verify[alg]
        lines.append(f"| {alg} | {int(r['chars'])} chars | {r['median_us']:.1f} | {r['p95_us']:.1f} |")
    lines.append("")
    made = ["pipeline", "keycache", "drain"]
    for name in made:
        lines += [f"<!-- {name} -->"] + SECTIONS[name](args.bin) + [f"<!-- /{name} -->", ""]
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-notes.md")
    if os.path.exists(notes):
        lines.append(open(notes).read().rstrip() + "\n")
    write_keeping(args.out, "\n".join(lines), made)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
