#!/usr/bin/env bash
# zxing-cpp 1.4 (Debian 12, the host) against 2.x (Debian 13, the trixie root): the same release
# `gatewayctl qr bench` decode chain on the same qrcorpus frames, one core each, ROUNDS rounds
# alternating host and root. Needs root and the release builds of both (`make deb`, `make deb-trixie`
# leave them in .build/release and .build-trixie/release). Prints one line per size and side.
#
#   scripts/bench-zxing-trixie.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shared=${AG_SHARED:-$(cd .. && pwd)/shared}
corpus=.cache/corpus
out=$(mktemp -d)
if [ ! -f "$corpus/manifest.tsv" ]; then
    python3 "$shared/tools/qrcorpus/gen_corpus.py" --out "$PWD/$corpus" >/dev/null
    # Paths relative to the folder, so that the root (which sees the tree at /src) reads them too.
    sed -i "s#$PWD/$corpus/##" "$corpus/manifest.tsv"
fi
for round in $(seq "$rounds"); do
    taskset -c 0 .build/release/gatewayctl qr bench --frames "$corpus" > "$out/host-$round.json"
    scripts/trixie-root.sh run taskset -c 0 .build-trixie/release/gatewayctl qr bench --frames "/src/$corpus" \
        > "$out/trixie-$round.json"
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
for side, name in (("host", "Debian 12"), ("trixie", "Debian 13")):
    runs = [json.load(open(f"{out}/{side}-{i}.json")) for i in range(1, rounds + 1)]
    for size in ("640x480", "1280x720"):
        frames = {}
        for run in runs:
            for frame in run["per_frame"]:
                if f"_{size}_" in frame["file"]:
                    frames.setdefault(frame["file"], []).append((frame["ok"], frame["ms"]))
        ok = sum(1 for v in frames.values() if all(o for o, _ in v))
        median = statistics.median(statistics.median(m for _, m in v) for v in frames.values())
        print(f"{name}, zxing-cpp {runs[0]['zxing_version']}, {size}: {len(frames)} frames, "
              f"success {100 * ok / len(frames):.1f} %, median {median:.2f} ms")
PY
