#!/usr/bin/env bash
# The demo on embedded defaults: a generated key, one pass, one camera frame, one decision.
set -euo pipefail
ctl=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

issuer=hq.demo.example
door=DEMO/FRONT
now=$(date +%s)

echo "== 1. generate a pass-signing key (ES256), kid demo-1"
"$ctl" token keygen --alg ES256 --kid demo-1 --private-key "$work/private.jwk" > "$work/keys.jwks"
cat "$work/keys.jwks"

echo; echo "== 2. issue a pass for member m-demo at $door, valid for one hour"
pass=$("$ctl" token issue --key "$work/private.jwk" --issuer "$issuer" --member m-demo --door "$door" \
    --valid-from "$now" --valid-until $((now + 3600)) --booking b-demo)
echo "$pass  (${#pass} characters)"
"$ctl" qr encode "$pass"

echo "== 3. render it into a 640x480 camera frame: $work/frame.pgm"
"$ctl" qr encode --pgm "$work/frame.pgm" --module 3 --frame 640x480 "$pass"

echo; echo "== 4. decode the frame with zbar"
"$ctl" qr decode --json "$work/frame.pgm"
decoded=$("$ctl" qr decode "$work/frame.pgm")

echo; echo "== 5. verify it offline at $door"
set +e
"$ctl" token verify --keys "$work/keys.jwks" --door "$door" --issuer "$issuer" "$decoded"
status=$?
echo "   and at another door:"
"$ctl" token verify --keys "$work/keys.jwks" --door OTHER/FRONT --issuer "$issuer" "$decoded"
set -e
[ $status -eq 0 ] || { echo "the pass was not granted (unexpected)"; exit 1; }

echo; echo "== 6. the full decision: import an HQ snapshot, decide at the door, record it in the audit log"
python3 - "$work/keys.jwks" "$issuer" "$now" > "$work/snapshot.json" <<'PY'
import json, sys
keys, issuer, now = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
print(json.dumps({
    "format": "ag-snapshot/1", "issuer": issuer, "seq": 1, "generated_at": now - 60, "max_age": 604800,
    "keys": keys,
    "doors": [{"id": "DEMO/FRONT", "name": "Front", "mode": "normal", "tz": "UTC"}],
    "members": [{"id": "m-demo", "blocked": False}, {"id": "m-blocked", "blocked": True}],
    "bookings": [{"id": "b-demo", "member": "m-demo", "doors": ["DEMO"], "start": now - 600,
                  "end": now + 3600, "status": "confirmed"}],
    "revoked": []}))
PY
db="$work/gateway.sqlite"
"$ctl" --db "$db" snapshot import "$work/snapshot.json"
"$ctl" --db "$db" decide --door "$door" "$decoded" || true
blocked=$("$ctl" token issue --key "$work/private.jwk" --issuer "$issuer" --member m-blocked --door "$door" \
    --valid-from "$now" --valid-until $((now + 3600)))
"$ctl" --db "$db" decide --door "$door" "$blocked" || true
"$ctl" --db "$db" decide --door "$door" "AG1:NOT-A-PASS" || true

echo; echo "== 7. the audit log, and its hash chain"
"$ctl" --db "$db" log
"$ctl" --db "$db" log verify
echo
echo "decision for m-demo at $door: GRANTED"
