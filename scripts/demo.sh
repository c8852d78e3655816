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
echo
if [ $status -eq 0 ]; then echo "decision: GRANTED"; else echo "decision: DENIED (unexpected)"; exit 1; fi
