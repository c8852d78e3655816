#!/usr/bin/env bash
# make fuzz: libFuzzer targets for the parsers that take untrusted bytes, time-bounded, outside
# `make test`.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 300 s; every target)
#   FUZZ_JOBS=2 scripts/fuzz.sh 600                        (two targets at a time)
#   scripts/fuzz.sh --build-only                           (binaries and seeds only)
#   scripts/fuzz.sh --no-build 900 cbor                    (reuse them, e.g. from a second shell)
#
# Targets (harnesses in Tests/Fuzz/Harnesses/<target>, executables of the package Tests/Fuzz):
#   cbor       CBORDecoder, with an encode/decode round trip
#   cose       COSESign1(cbor:decoder:), its header checks, AG1Pass(cose:)
#   ag1        PassVerifier.verify(text, door:, now:) on AG1 texts; AG2 parse, credential and proof
#   base45     Base45.decode, with round trips both ways
#   snapshot   SnapshotDocument.parse (full and delta), with a JSONEncoder round trip; not apply
#   hqcommand  HQCommand.parse and HQCommand.open (SignedDocument) under a pinned root key
#
# SwiftPM builds Tests/Fuzz/Package.swift in .build-fuzz (release, -Xswiftc -sanitize=fuzzer,address):
# each harness imports the modules it runs (AccessToken, HQProtocol, AccessPolicy) as the root
# package builds them, and every Swift module is instrumented, those and swift-crypto's Swift layer
# included; C (BoringSSL, zlib) is not. No GRDB, zbar or NIO is linked. The binaries are copied to
# .build-fuzz/fuzz/bin/fuzz-<target>. Everything built or found goes to .build-fuzz/fuzz (not in git):
# binaries, seeds (Tests/Fuzz/make_seeds.py from ../shared, and the passes and commands the ag1
# and hqcommand harnesses sign themselves), the growing corpus per target, logs and artifacts.
#
# Each run appends one line to Tests/Fuzz/runs.csv (executions, exec/s, libFuzzer's cov and ft,
# crashes), and the Fuzzing section of docs/BENCHMARKS.md is rewritten from that file. A crash,
# hang or OOM is minimised and copied to Tests/Fuzz/regressions/<target>/, which the unit tests
# replay (FuzzRegressionTests in Tests/AccessTokenTests, Tests/KeyCacheTests, Tests/HQSyncTests);
# the script then exits 1. See Tests/Fuzz/README.md.
set -uo pipefail
# All of it in one function, read whole before it runs: editing this file mid-run is then safe.
main() {
    cd "$(dirname "$0")/.."
    root=$PWD
    SWIFT=${SWIFT:-swift}
    SHARED=${AG_SHARED:-${SHARED:-$(cd .. && pwd)/shared}}
    scratch=$root/.build-fuzz
    out=$scratch/fuzz
    jobs=${FUZZ_JOBS:-1}
    all_targets=(cbor cose ag1 base45 snapshot hqcommand)

    build_only=0
    no_build=0
    seconds=300
    targets=()
    for arg in "$@"; do
        case $arg in
            --build-only) build_only=1 ;;
            --no-build) no_build=1 ;;  # reuse the binaries and seeds of an earlier run
            [0-9]*) seconds=$arg ;;
            cbor | cose | ag1 | base45 | snapshot | hqcommand) targets+=("$arg") ;;
            *) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [--build-only|--no-build] [${all_targets[*]}]" >&2; exit 2 ;;
        esac
    done
    [ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
    [ -f "$SHARED/vectors/ag1/cases.json" ] || { echo "fuzz: no shared vectors at $SHARED (set AG_SHARED)" >&2; exit 2; }

    log() { echo "[fuzz $(date +%H:%M:%S)] $*"; }

    # ---- build ----------------------------------------------------------------------------------
    mkdir -p "$out"/{bin,seeds,corpus,artifacts,logs}
    export AG_FUZZ_AG1_CASES=$SHARED/vectors/ag1/cases.json
    # The Swift runtime's backtracer would run under ASan after a trap; libFuzzer reports it anyway.
    export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
    # No allocation stacks (malloc_context_size=0): with Swift's many small allocations they cost more
    # than a third of the time; detection is unchanged, and a reproducer can be rerun with them.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:malloc_context_size=0:quarantine_size_mb=64}
    if [ $no_build = 0 ]; then
        # Tests/Fuzz is a package of its own that imports the root's AccessToken, HQProtocol and
        # AccessPolicy; the sanitizer flags reach every Swift module it builds, those included.
        spm=($SWIFT build --package-path Tests/Fuzz --scratch-path "$scratch" -c release
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
        log "building the harnesses (swift build of Tests/Fuzz, -sanitize=fuzzer,address) in .build-fuzz"
        "${spm[@]}" >"$out/logs/spm.log" 2>&1 ||
            { tail -30 "$out/logs/spm.log"; echo "fuzz: swift build of Tests/Fuzz failed" >&2; exit 1; }
        rel=$("${spm[@]}" --show-bin-path) || exit 1
        # Copies (cp -f replaces a binary that is running): a later build leaves alone the binaries
        # that a --no-build run in another shell uses.
        for t in "${all_targets[@]}"; do cp -f "$rel/fuzz-$t" "$out/bin/fuzz-$t" || exit 1; done

        # ---- seeds ----------------------------------------------------------------------------------
        rm -rf "$out/seeds"
        python3 Tests/Fuzz/make_seeds.py --shared "$SHARED" --out "$out/seeds" || exit 1
        AG_FUZZ_EMIT_SEEDS=$out/seeds/ag1 "$out/bin/fuzz-ag1" || exit 1
        AG_FUZZ_EMIT_SEEDS=$out/seeds/hqcommand "$out/bin/fuzz-hqcommand" || exit 1
        for t in "${all_targets[@]}"; do log "seeds: $t $(ls "$out/seeds/$t" | wc -l)"; done
    fi
    [ $build_only = 0 ] || exit 0

    # ---- runs -----------------------------------------------------------------------------------
    csv=Tests/Fuzz/runs.csv
    [ -s $csv ] || echo "target,date,seconds,executions,exec_per_s,cov,ft,edges,corpus,crashes,commit" >$csv
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -z "$(git status --porcelain -- Sources 2>/dev/null)" ] || commit="$commit+dirty"

    # Per target: the largest input worth trying. AG1 texts are refused above 2048 characters; the
    # seeds of the others are all under 1.6 kB, and longer inputs only run slower.
    max_len() {
        case $1 in
            ag1) echo 2600 ;;
            snapshot) echo 2048 ;;
            *) echo 1024 ;;
        esac
    }

    run_target() {
        local t=$1 bin=$out/bin/fuzz-$1 art=$out/artifacts/$1/ reg=Tests/Fuzz/regressions/$1
        local stamp logf start end status
        stamp=$(date -u +%Y%m%dT%H%M%SZ)
        logf=$out/logs/$t-$stamp.log
        mkdir -p "$out/corpus/$t" "$art" "$reg"
        touch "$out/artifacts/$t/.start"
        start=$(date +%s)
        local dict=()
        [ -f "Tests/Fuzz/dicts/$t.dict" ] && dict=(-dict="Tests/Fuzz/dicts/$t.dict")
        "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1 \
            -max_len="$(max_len "$t")" -artifact_prefix="$art" "${dict[@]}" \
            "$out/corpus/$t" "$out/seeds/$t" "$reg" >"$logf" 2>&1
        status=$?
        end=$(date +%s)
        local execs rate cov ft edges corpus crashes=0
        execs=$(awk '/stat::number_of_executed_units:/ {v = $2} END {print v}' "$logf")
        rate=$(awk '/stat::average_exec_per_sec:/ {v = $2} END {print v}' "$logf")
        cov=$(grep -Eo 'cov: [0-9]+' "$logf" | tail -1 | awk '{print $2}')
        ft=$(grep -Eo 'ft: [0-9]+' "$logf" | tail -1 | awk '{print $2}')
        edges=$(grep -Eo 'Loaded 1 modules +\([0-9]+ inline 8-bit counters' "$logf" | grep -Eo '\([0-9]+' | tr -d '(')
        corpus=$(ls "$out/corpus/$t" | wc -l)
        # Findings: minimise each (crashes only; a hang is kept as found) into the regressions folder.
        for f in $(find "$art" -maxdepth 1 -type f -newer "$out/artifacts/$t/.start" \
            \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' -o -name 'slow-unit-*' \)); do
            local kind=${f##*/}
            kind=${kind%%-*}
            [ "$kind" = slow ] && continue
            crashes=$((crashes + 1))
            local min=$f.min
            if [ "$kind" = crash ]; then
                "$bin" -minimize_crash=1 -max_total_time=60 -runs=100000 -exact_artifact_path="$min" "$f" \
                    >"$logf.minimize" 2>&1 || true
            fi
            [ -s "$min" ] || min=$f
            local name
            name=$kind-$(sha1sum "$min" | cut -c1-12)
            cp "$min" "$reg/$name"
            log "$t: $kind found, reproducer $reg/$name (log $logf)"
            grep -m3 -E 'ERROR|Fatal error|fuzz property|deadly signal|SUMMARY' "$logf" | sed 's/^/    /'
        done
        [ $status = 0 ] || [ $crashes -gt 0 ] || { log "$t: libFuzzer exited $status; see $logf"; crashes=1; }
        echo "$t,$(date -u +%Y-%m-%dT%H:%M:%SZ),$((end - start)),${execs:-0},${rate:-0},${cov:-0},${ft:-0},${edges:-0},$corpus,$crashes,$commit" >>$csv
        log "$t: $((end - start)) s, ${execs:-0} executions (${rate:-0}/s), cov ${cov:-0} ft ${ft:-0}, corpus $corpus, findings $crashes"
        return $((crashes > 0))
    }

    failed=0
    log "fuzzing ${targets[*]} for $seconds s each, $jobs at a time"
    pids=()
    for t in "${targets[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
        run_target "$t" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done

    python3 Tests/Fuzz/report.py --csv $csv --doc docs/BENCHMARKS.md || failed=1
    [ $failed = 0 ] || { log "findings: see Tests/Fuzz/regressions and .build-fuzz/fuzz/logs"; exit 1; }
    log "no findings"
}; main "$@"; exit  # on the closing line: nothing after it is read once main has begun
