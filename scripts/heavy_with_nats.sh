#!/usr/bin/env bash
# The heavy suite: starts the NATS it needs, runs the long tests, keeps every log and a summary,
# stops what it started, and exits non-zero when any suite failed.
#
#   scripts/heavy_with_nats.sh [--cluster] [--tls] [SUITE...]
#
#   --cluster  the 3-node cluster of scripts/nats_cluster.sh instead of the single node of
#              scripts/nats_start.sh (the "live" suite runs three routers on it)
#   --tls      mutual TLS for the NATS started here
#
# Suites, in this order (default: all of them):
#   integration  ctest -L integration (every integration test but the chaos test)
#   chaos        the chaos test (it_router_chaos) on its own, when the build has it
#   scaleout     ctest -L heavy: three routers on a 3-node cluster, with kill -9 of a router and of
#                a node (the tests start their own cluster on free ports)
#   soak         scripts/soak.sh --minutes HEAVY_SOAK_MINUTES, when the script exists
#   live         routers on the NATS started here under load from every node, every request answered
#                ok and every router serving: perf/cluster_bench.sh --url ... --check with one router
#                on the single node, three on the cluster
# A suite whose test or script is absent is reported as skipped, not failed.
#
# Writes $ARTIFACTS_DIR/heavy_<timestamp>/: <suite>.log for each suite, nats.log (the start and
# stop of NATS), and summary.txt (suite, result, seconds), which is also printed at the end.
# The build is brought up to date first (cmake --build); run scripts/setup.sh once before.
#
# Environment: BUILD_DIR, ARTIFACTS_DIR, HEAVY_JOBS (ctest -j, default: the cores),
# HEAVY_TIMEOUT or CT_TIMEOUT_SECONDS (per-test ctest timeout; default: each test's own),
# HEAVY_SOAK_MINUTES (1), HEAVY_BUILD=0 skips the build; NATS_* / NATS_CLUSTER_* ports as in
# scripts/nats_start.sh and scripts/nats_cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ALL_SUITES=(integration chaos scaleout soak live)
cluster=false
tls_args=()
suites=()
for arg in "$@"; do
    case "$arg" in
        --cluster) cluster=true ;;
        --tls) tls_args=(--tls) ;;
        -h | --help) usage_from_header; exit 0 ;;
        -*) die "unknown option '$arg' (see --help)" ;;
        *)
            [[ " ${ALL_SUITES[*]} " == *" $arg "* ]] || die "unknown suite '$arg'; the suites are: ${ALL_SUITES[*]}"
            suites+=("$arg")
            ;;
    esac
done
[ ${#suites[@]} -gt 0 ] || suites=("${ALL_SUITES[@]}")

[ -f "$BUILD_DIR/CTestTestfile.cmake" ] || die "no build in $BUILD_DIR: run scripts/setup.sh first"
jobs=${HEAVY_JOBS:-$(nproc)}
timeout_args=()
per_test_timeout=${HEAVY_TIMEOUT:-${CT_TIMEOUT_SECONDS:-}}
if [ -n "$per_test_timeout" ]; then
    per_test_timeout=$(HEAVY_TIMEOUT=$per_test_timeout seconds_setting HEAVY_TIMEOUT 1)
    timeout_args=(--timeout "$per_test_timeout")
fi
soak_minutes=$(seconds_setting HEAVY_SOAK_MINUTES 1)

OUT="$ARTIFACTS_DIR/heavy_$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
printf '%-12s %-8s %8s\n' suite result seconds > "$SUMMARY"

# --- NATS: started here, stopped here (only what was not already running) -----------------------
STOP_NATS=()
stop_started() {
    if [ ${#STOP_NATS[@]} -gt 0 ]; then
        log "stopping what was started here: ${STOP_NATS[*]}"
        "${STOP_NATS[@]}" >> "$OUT/nats.log" 2>&1 || true
    fi
}
trap stop_started EXIT
trap 'exit 130' INT TERM

if [ "${HEAVY_BUILD:-1}" != 0 ]; then
    log "building ($BUILD_DIR)"
    nice cmake --build "$BUILD_DIR" > "$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; die "the build failed; see $OUT/build.log"; }
fi

if $cluster; then
    "$BEAMLINE_ROOT/scripts/nats_cluster.sh" status > /dev/null 2>&1 || STOP_NATS=("$BEAMLINE_ROOT/scripts/nats_cluster.sh" stop)
    "$BEAMLINE_ROOT/scripts/nats_cluster.sh" start "${tls_args[@]}" >> "$OUT/nats.log" 2>&1 ||
        { cat "$OUT/nats.log" >&2; die "the NATS cluster did not start; see $OUT/nats.log"; }
    NATS_URL=$("$BEAMLINE_ROOT/scripts/nats_cluster.sh" url)
else
    "$BEAMLINE_ROOT/scripts/nats_status.sh" > /dev/null 2>&1 || STOP_NATS=("$BEAMLINE_ROOT/scripts/nats_stop.sh")
    "$BEAMLINE_ROOT/scripts/nats_start.sh" "${tls_args[@]}" >> "$OUT/nats.log" 2>&1 ||
        { cat "$OUT/nats.log" >&2; die "nats-server did not start; see $OUT/nats.log"; }
    nats_settings
    NATS_URL="$([ ${#tls_args[@]} -gt 0 ] && echo tls || echo nats)://$NATS_HOST:$NATS_PORT"
fi
log "NATS for the live suite: $NATS_URL"

# --- the suites ----------------------------------------------------------------------------------
has_test() { ctest --test-dir "$BUILD_DIR" -N -R "$1" 2> /dev/null | grep -q '^Total Tests: [1-9]'; }
run_ctest() { ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$jobs" "${timeout_args[@]}" "$@"; }

suite_command() { # suite_command SUITE: runs it; exit 3 means skipped
    case "$1" in
        integration) run_ctest -L integration -E '^it_router_chaos$' ;;
        chaos)
            has_test '^it_router_chaos$' || { echo "no it_router_chaos in $BUILD_DIR"; return 3; }
            run_ctest -R '^it_router_chaos$'
            ;;
        scaleout)
            ctest --test-dir "$BUILD_DIR" -N -L heavy | grep -q '^Total Tests: [1-9]' ||
                { echo "no test labelled heavy in $BUILD_DIR"; return 3; }
            run_ctest -L heavy
            ;;
        soak)
            [ -x "$BEAMLINE_ROOT/scripts/soak.sh" ] || { echo "no scripts/soak.sh"; return 3; }
            "$BEAMLINE_ROOT/scripts/soak.sh" --minutes "$soak_minutes" --interval 20
            ;;
        live)
            local routers=1
            $cluster && routers=3
            "$BEAMLINE_ROOT/perf/cluster_bench.sh" --url "$NATS_URL" --routers "$routers" --duration 5 --check
            ;;
    esac
}

failed=0
started=$SECONDS
for suite in "${suites[@]}"; do
    log "suite $suite: running (log: $OUT/$suite.log)"
    t0=$SECONDS
    rc=0
    suite_command "$suite" > "$OUT/$suite.log" 2>&1 < /dev/null || rc=$?
    seconds=$((SECONDS - t0))
    case $rc in
        0) result=passed ;;
        3) result=skipped ;;
        *) result=FAILED; failed=1; tail -n 40 "$OUT/$suite.log" | sed "s/^/[$suite] /" >&2 ;;
    esac
    printf '%-12s %-8s %8s\n' "$suite" "$result" "$seconds" >> "$SUMMARY"
    log "suite $suite: $result in ${seconds}s"
done
printf '%-12s %-8s %8s\n' total "$([ $failed = 0 ] && echo passed || echo FAILED)" $((SECONDS - started)) >> "$SUMMARY"
log "summary ($SUMMARY):"
cat "$SUMMARY"
exit $failed
