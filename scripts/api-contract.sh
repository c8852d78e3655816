#!/usr/bin/env bash
# scripts/api-contract.sh [BIN_DIR]  docs/openapi.yaml as a tested contract: schemathesis (pinned, in
# .cache/venv-schemathesis, installed by scripts/install-deps.sh) runs every check and the examples,
# coverage, fuzzing and stateful phases against a fresh `access-hq-dev` on loopback, from BIN_DIR
# (default: the debug build). A test device is enrolled first (scripts/hq_device.py) and its device
# token given to the device-authenticated operations; the reference-only ones take no auth.
#
# Ends with schemathesis' own summary, then "N passed, N failed": one test per operation and one for
# the stateful phase, from its JUnit report, which scripts/counted-stage.sh counts (stage api-contract).
# Exit status: schemathesis' (0 when every check passed), or 1 when the HQ or the device could not be
# set up. API_CONTRACT_EXAMPLES bounds the examples per operation and phase (default 25).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${1:-$(swift build --show-bin-path)}
st=$root/.cache/venv-schemathesis/bin/st
examples=${API_CONTRACT_EXAMPLES:-25}

if [ ! -x "$st" ]; then
    echo "api-contract: $st is missing; run scripts/install-deps.sh"
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/api-contract.XXXXXX")
hq_pid=
cleanup() {
    if [ -n "$hq_pid" ]; then kill "$hq_pid" 2>/dev/null || true; wait "$hq_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

hq() { "$bin/access-hq-dev" "$@" --db "$work/hq.sqlite"; }

# Port 0: the system picks a free one, and the server prints it.
"$bin/access-hq-dev" serve --db "$work/hq.sqlite" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
hq_pid=$!
url=
for _ in $(seq 1 300); do
    url=$(sed -n 's/^listening on //p' "$work/serve.out")
    [ -n "$url" ] && break
    if ! kill -0 "$hq_pid" 2>/dev/null; then break; fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "api-contract: access-hq-dev did not start:"
    cat "$work/serve.err"
    exit 1
fi
echo "api-contract: access-hq-dev at $url"

code=$(hq code --doors JKT1/FRONT 2>/dev/null)
device=$(python3 scripts/hq_device.py --hq "$url" --code "$code")
gateway=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["gateway_id"])' <<<"$device")
export HQ_DEVICE_TOKEN
HQ_DEVICE_TOKEN=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$device")
# A queued command, so that the commands response is checked with one in it, not only empty.
hq command --gateway "$gateway" --kind resync >/dev/null
echo "api-contract: enrolled test device $gateway"

status=0
# From the scratch folder: hypothesis keeps a .hypothesis folder in the working directory.
cd "$work"
"$st" --config-file "$root/Tests/api-contract/schemathesis.toml" run "$root/docs/openapi.yaml" \
    --url "$url" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$examples" \
    --seed 20 \
    --workers 1 \
    --request-timeout 10 \
    --no-color \
    --report junit --report-junit-path "$work/junit.xml" || status=$?

# One line for counted-stage.sh: a test case per operation (and the stateful phase), from the report.
if [ -f "$work/junit.xml" ]; then
    python3 - "$work/junit.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET

cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
passed = failed = skipped = 0
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
if skipped:
    print(f"api-contract: {skipped} skipped")
print(f"{passed} passed, {failed} failed")
EOF
else
    echo "api-contract: schemathesis wrote no report"
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
