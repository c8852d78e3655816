#!/usr/bin/env bash
# scripts/counted-stage.sh STAGE COMMAND...  runs one stage of `make test`, then checks how many
# tests it ran against the stage's minimum in Tests/stage-minimums, so that a test target dropped
# from Package.swift or a hardware check removed turns the run red instead of quietly checking less.
#
# The count comes from the stage's own summary line: Swift Testing's "Test run with N tests ..."
# or the hardware stage's "N passed, N failed". Prints "STAGE: N tests (minimum M)".
# Exit status: the command's when it failed; 1 when the count is below the minimum, the stage has
# no minimum, or no summary line was found; 0 otherwise.
#   scripts/counted-stage.sh --check STAGE LOG   checks a log already written (the tests use it)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
minimums=${STAGE_MINIMUMS:-$root/Tests/stage-minimums}

# The stage's summary in LOG -> the number of tests it ran (empty when there is none).
count_in() {
    tr -d '\r' < "$1" | sed -E 's/\x1b\[[0-9;]*m//g' | awk '
        # At the start of a line only: a test case may print the same words among its arguments.
        match($0, /^[^ ]+ Test run with [0-9]+ tests?/) { split(substr($0, RSTART, RLENGTH), w, " "); n = w[5] }
        /^[0-9]+ passed, [0-9]+ failed$/ { n = $1 + $3 }
        END { if (n != "") print n }'
}

check() { # STAGE LOG
    local stage=$1 log=$2 minimum count
    minimum=$(awk -v s="$stage" '!/^#/ && $1 == s { print $2 }' "$minimums")
    count=$(count_in "$log")
    if [ -z "$minimum" ]; then
        echo "$stage: no minimum in $minimums; add a line \"$stage N\""
        return 1
    fi
    if [ -z "$count" ]; then
        echo "$stage: no test summary found (minimum $minimum)"
        return 1
    fi
    echo "$stage: $count tests (minimum $minimum)"
    if [ "$count" -lt "$minimum" ]; then
        echo "$stage: $count tests ran, fewer than the $minimum in $minimums: a test or a target was dropped"
        return 1
    fi
}

if [ "${1:-}" = --check ]; then
    check "$2" "$3"
    exit $?
fi
stage=$1
shift
log=$(mktemp "${TMPDIR:-/tmp}/stage-$stage.XXXXXX")
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if ! check "$stage" "$log" && [ "$status" -eq 0 ]; then status=1; fi
exit "$status"
