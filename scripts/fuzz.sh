#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan into build-fuzz, runs each
# for a while from its seed corpus (tests/fuzz/corpus/<target>) and prints executions and coverage.
#   scripts/fuzz.sh [--seconds N] [--runs N] [TARGET...]
#     --seconds N   run each target for N seconds (default 30)
#     --runs N      also stop each target after N executions (a long run: --runs 10000000
#                   --seconds 1800 stops at whichever comes first)
#     TARGET        nats_parser, nats_headers, decide_request, policy, config, http_request,
#                   jetstream_ack, jetstream_pull_status, jetstream_api_reply, exec_result
#                   (default: every target, one per directory of tests/fuzz/corpus)
# Exit: 0 when every target ran clean, 1 when one crashed, hung, leaked or broke a property (the
# input is kept as build-fuzz/artifacts/<target>-crash-*; replay it with the target binary).
# Environment: FUZZ_BUILD_DIR (build-fuzz). Installs clang and libFuzzer when they are missing, so
# the normal build never needs them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

seconds=30
runs=""
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--seconds needs a positive number"; seconds="$2"; shift 2 ;;
        --runs) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"; runs="$2"; shift 2 ;;
        -h | --help) usage_from_header; exit 0 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) targets+=("$1"); shift ;;
    esac
done

FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-$BEAMLINE_ROOT/build-fuzz}"
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

have_libfuzzer() {
    command -v clang++ >/dev/null 2>&1 || return 1
    echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
        clang++ -x c++ -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1
}

if ! have_libfuzzer; then
    log "installing ${FUZZ_PACKAGES[*]} (clang with libFuzzer)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${FUZZ_PACKAGES[@]}"
    have_libfuzzer || die "clang cannot link a libFuzzer target even after installing ${FUZZ_PACKAGES[*]}"
fi

if [ ! -f "$FUZZ_BUILD_DIR/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$BEAMLINE_ROOT" -B "$FUZZ_BUILD_DIR" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBEAMLINE_FUZZ=ON \
        -DBEAMLINE_BUILD_TESTS=OFF -DBEAMLINE_BUILD_PERF=OFF >/dev/null
fi

corpus_root="$BEAMLINE_ROOT/tests/fuzz/corpus"
if [ ${#targets[@]} -eq 0 ]; then
    for dir in "$corpus_root"/*/; do targets+=("$(basename "$dir")"); done
fi
for t in "${targets[@]}"; do
    [ -f "$BEAMLINE_ROOT/tests/fuzz/$t.cpp" ] || die "no fuzz target '$t' (tests/fuzz/$t.cpp)"
done

cmake --build "$FUZZ_BUILD_DIR" --target "${targets[@]/#/fuzz_}"

mkdir -p "$FUZZ_BUILD_DIR/artifacts" "$FUZZ_BUILD_DIR/logs"
limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit+=(-runs="$runs")
failed=()
summary=()
for t in "${targets[@]}"; do
    # New inputs go to the first directory, in the build tree; the seeds in the repository stay as written.
    work="$FUZZ_BUILD_DIR/corpus/$t"
    mkdir -p "$work"
    log="$FUZZ_BUILD_DIR/logs/$t.log"
    log "fuzzing $t (${runs:+$runs runs or }$seconds s)"
    status=0
    # -timeout: an input taking 10 s is a hang; -rss_limit_mb: one that needs 2 GB is a memory bomb.
    "$FUZZ_BUILD_DIR/tests/fuzz/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$FUZZ_BUILD_DIR/artifacts/$t-" "$work" "$corpus_root/$t" >"$log" 2>&1 || status=$?
    # libFuzzer's own lines: the final stats, and the last status line for coverage (edges) and
    # features. Missing ones (a crash before the first status line) print as '?'.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    line=$(printf '%-16s executions %-12s coverage %-6s features %-7s seconds %s' \
        "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${secs:-?}")
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        line="$line  FAILED (exit $status, log $log)"
        grep -E 'ERROR: |property failed|SUMMARY|Test unit written' "$log" | head -5 >&2 || true
    fi
    summary+=("$line")
done

log "summary"
printf '  %s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ] || die "fuzz targets failed: ${failed[*]}"
