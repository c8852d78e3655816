#!/usr/bin/env bash
# `make demo`: the real daemon on embedded defaults, end to end, on loopback. Leaves nothing running.
#   scripts/demo.sh BIN_DIR     (holds access-gateway, gatewayctl and access-hq-dev)
set -euo pipefail
bin=$1
work=$(mktemp -d)
hq_pid=
cleanup() {
    [ -n "$hq_pid" ] && kill "$hq_pid" 2>/dev/null && wait "$hq_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
door=DEMO/FRONT
step() { printf '\n== %s\n' "$*"; }

step "1. the reference HQ starts on loopback (access-hq-dev, a development HQ)"
cat > "$work/seed.json" <<JSON
{"doors": [{"id": "$door", "name": "Front door", "mode": "normal", "tz": "UTC"}],
 "members": [{"id": "m-demo", "blocked": false}]}
JSON
"$bin/access-hq-dev" serve --db "$work/hq.sqlite" --issuer hq.demo.example --listen 127.0.0.1:0 \
    --seed "$work/seed.json" > "$work/hq.out" 2> "$work/hq.log" &
hq_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/hq.out" && break; sleep 0.1; done
hq=$(sed -n 's/^listening on //p' "$work/hq.out")
[ -n "$hq" ] || { cat "$work/hq.log"; echo "the reference HQ did not start"; exit 1; }
echo "HQ at $hq"

step "2. the gateway enrols: its key is made here, HQ's root key is pinned, the first snapshot comes down"
code=$("$bin/access-hq-dev" code --db "$work/hq.sqlite" --doors "$door")
"$bin/gatewayctl" --db "$work/gateway.sqlite" provision --hq "$hq" --code "$code" --name demo-gateway \
    --key "$work/device-key.pem" | grep -v '^[ █▀▄]*$'

step "3. HQ issues a member pass, and one that expired an hour ago"
pass=$("$bin/access-hq-dev" pass --db "$work/hq.sqlite" --member m-demo --door "$door")
expired=$("$bin/access-hq-dev" pass --db "$work/hq.sqlite" --member m-demo --door "$door" \
    --issued-ago 7200 --valid-for 3600)
echo "pass:    ${pass:0:24}… (${#pass} characters)"
echo "expired: ${expired:0:24}…"

step "4. the passes are rendered into 640x480 camera frames, played at 10 fps by the folder camera"
mkdir "$work/frames"
python3 - "$work/frames/blank.pgm" <<'PY'
import sys
open(sys.argv[1], "wb").write(b"P5\n640 480\n255\n" + bytes([236]) * 640 * 480)
PY
"$bin/gatewayctl" qr encode --pgm "$work/frames/pass.pgm" --module 3 --frame 640x480 "$pass"
"$bin/gatewayctl" qr encode --pgm "$work/frames/expired.pgm" --module 3 --frame 640x480 "$expired"
n=0
frames() { for _ in $(seq "$2"); do n=$((n + 1)); cp "$work/frames/$1.pgm" "$work/frames/$(printf %04d $n).pgm"; done; }
# Blank, the pass held up for 0.8 s, blank while the relay pulses, the expired pass, blank.
frames blank 10; frames pass 8; frames blank 30; frames expired 8; frames blank 10
rm "$work/frames/"{blank,pass,expired}.pgm
echo "$n frames in $work/frames"

cat > "$work/gateway.toml" <<TOML
[gateway]
db = "$work/gateway.sqlite"
device_key = "$work/device-key.pem"
listen = "127.0.0.1:0"
door_io = "memory"       # the demo drives no real door: relay changes are logged

[doors.front]
id = "$door"
relay = { chip = "demo", line = 0 }
green = { chip = "demo", line = 1 }
red = { chip = "demo", line = 2 }
pulse_s = 2
camera = { frames = "$work/frames", fps = 10 }
TOML

step "5 and 6. the daemon runs: the pass opens the in-memory door, the expired pass is denied"
"$bin/access-gateway" --config "$work/gateway.toml"

step "7. the audit log on the gateway, its hash chain, and what HQ received"
"$bin/gatewayctl" --db "$work/gateway.sqlite" log
"$bin/gatewayctl" --db "$work/gateway.sqlite" log verify
gateway=$("$bin/gatewayctl" --db "$work/gateway.sqlite" sync status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway"])')
"$bin/access-hq-dev" events --db "$work/hq.sqlite" --gateway "$gateway" > "$work/hq-events.jsonl"
echo "HQ holds $(wc -l < "$work/hq-events.jsonl") events from $gateway; checked there with scripts/audit_verify.py:"
python3 "$(dirname "$0")/audit_verify.py" --jsonl "$work/hq-events.jsonl"

granted=$("$bin/gatewayctl" --db "$work/gateway.sqlite" log --format json | grep -c '"reason":"granted"' || true)
denied=$("$bin/gatewayctl" --db "$work/gateway.sqlite" log --format json | grep -c '"reason":"expired"' || true)
backlog=$("$bin/gatewayctl" --db "$work/gateway.sqlite" sync status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backlog"])')
echo
if [ "$granted" = 1 ] && [ "$denied" = 1 ] && [ "$backlog" = 0 ]; then
    echo "demo OK: one pass granted, the expired pass denied, every event uploaded and verified at HQ"
else
    echo "demo FAILED: granted $granted (want 1), expired $denied (want 1), backlog $backlog (want 0)"
    exit 1
fi
