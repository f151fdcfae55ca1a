#!/usr/bin/env bash
# Measures decide over a real nats-server: caller -> nats-server -> router -> nats-server -> caller,
# against an echo responder on the same server (the reference ceiling), in the same run, so the
# perf gate can judge router/reference ratios rather than noisy absolute times. Each round runs
#   closed_<N>:             N requests in flight, reference and router one after the other (who
#                           goes first alternates between rounds): each one's saturation figures;
#   closed_<N>_interleaved: N in flight to each at once, requests interleaved in one load
#                           generator run, so both meet the same moments of a noisy machine;
#   open_<R>:               R requests/s to each, interleaved the same way.
# Before each run every target must answer a fresh request, so a router still working through
# the previous run's backlog does not spoil the next measurement.
#
#   scripts/bench_router.sh [--tls] [--quick]
#     --tls    mutual TLS between every client and nats-server
#     --quick  for CI, under a minute: only the interleaved scenarios the gate judges, 3 x 5 s
#
# Writes _artifacts/perf_<timestamp>.json and .md (and perf_<timestamp>_logs/). Exit 0 when every
# measurement completed, 1 otherwise (the artifacts are still written, marked incomplete).
#
# Environment:
#   BENCH_ROUTER_CMD     command started in the router's place (run by bash, with the router's
#                        BEAMLINE_* variables set). Default: "$(router_bin) run", or, while the
#                        router binary has no 'run' verb, beamline_echo as a marked placeholder.
#   BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP   rounds and seconds per measurement
#   BENCH_INFLIGHT (512), BENCH_RATE (10000), BENCH_TENANTS (1000), BENCH_TIMEOUT (5)
#   BEAMLINE_LOADGEN, BEAMLINE_ECHO              the bench binaries (default: $BUILD_DIR/perf/)
#   BENCH_KEEP_WORK=1    keep the temporary directory (policies, certificates, server config)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The processes under test are configured by this script alone. A caller's shell may carry a live
# daemon's settings (scripts/ops_env.sh exports its pidfile, log file and TLS files); inherited,
# they would make the bench's router take over that daemon's pidfile and log.
while read -r var; do
    [ "$var" = BEAMLINE_ROUTER_BIN ] || unset "$var"
done < <(compgen -e | grep -E '^BEAMLINE_(NATS|ROUTER|HTTP|LOG)_')

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

TLS=0
QUICK=0
for arg in "$@"; do
    case "$arg" in
        --tls) TLS=1 ;;
        --quick) QUICK=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done

if [ "$QUICK" = 1 ]; then
    # Only what the gate judges, in three rounds: a median of three resists one bad moment.
    ROUNDS=${BENCH_ROUNDS:-3} DURATION=${BENCH_DURATION:-5} WARMUP=${BENCH_WARMUP:-0.5}
else
    ROUNDS=${BENCH_ROUNDS:-4} DURATION=${BENCH_DURATION:-10} WARMUP=${BENCH_WARMUP:-2}
fi
INFLIGHT=${BENCH_INFLIGHT:-512}
RATE=${BENCH_RATE:-10000}
TENANTS=${BENCH_TENANTS:-1000}
TIMEOUT=${BENCH_TIMEOUT:-5}
LOADGEN=${BEAMLINE_LOADGEN:-$BUILD_DIR/perf/beamline_loadgen}
ECHO_BIN=${BEAMLINE_ECHO:-$BUILD_DIR/perf/beamline_echo}
ROUTER_SUBJECT=beamline.router.v1.decide
REFERENCE_SUBJECT=beamline.bench.reference.v1.decide
QUEUE_GROUP=beamline-router

for bin in "$LOADGEN" "$ECHO_BIN"; do
    [ -x "$bin" ] || die "$bin is missing: cmake --build build --target beamline_loadgen beamline_echo"
done
# Debian's interpreter when present: it starts in a tenth of the time of a version-manager shim.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "python3 is required"
command -v curl >/dev/null || die "curl is required"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$ARTIFACTS_DIR"
OUT_JSON="$ARTIFACTS_DIR/perf_$STAMP.json"
OUT_MD="$ARTIFACTS_DIR/perf_$STAMP.md"
LOGS="$ARTIFACTS_DIR/perf_${STAMP}_logs"
mkdir -p "$LOGS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/beamline-bench.XXXXXX")
RUNS="$WORK/runs"
mkdir -p "$RUNS"

STARTED_PIDS=()
cleanup() {
    local pid i
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${STARTED_PIDS[i]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A CA, a server certificate for localhost/127.0.0.1 and a client certificate, for mutual TLS,
# made by the project's own script into the bench's temporary directory.
make_certs() {
    local dir="$1"
    CERTS_DIR="$dir" "$BEAMLINE_ROOT/scripts/generate_certs.sh" --quiet >"$LOGS/certs.log" 2>&1 ||
        die "generate_certs.sh failed; see $LOGS/certs.log"
}

start_process() { # start_process LOGFILE CMD... ; sets STARTED_PID
    "${@:2}" >"$1" 2>&1 &
    STARTED_PID=$!
    STARTED_PIDS+=("$STARTED_PID")
}

wait_http_ok() { # wait_http_ok URL SECONDS PID
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt "$deadline" ]; do
        curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

backpressure_total() {
    [ -n "${HTTP_PORT:-}" ] || { echo 0; return; }
    local metrics
    metrics=$(curl -fsS --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null) || metrics=""
    awk '/^router_backpressure_activations_total[ {]/ {sum += $NF} END {printf "%d\n", sum}' \
        <<<"$metrics"
}

# --- nats-server ---------------------------------------------------------------------------------
NATS_PORT=$(free_port)
MONITOR_PORT=$(free_port)
NATS_CONF="$WORK/nats.conf"
CONN_ARGS=()
ROUTER_ENV=()
{
    echo "listen: 127.0.0.1:$NATS_PORT"
    echo "http: 127.0.0.1:$MONITOR_PORT"
} >"$NATS_CONF"
if [ "$TLS" = 1 ]; then
    CERTS_DIR="$WORK/certs"
    make_certs "$CERTS_DIR"
    cat >>"$NATS_CONF" <<EOF
tls {
  cert_file: "$CERTS_DIR/server.pem"
  key_file: "$CERTS_DIR/server-key.pem"
  ca_file: "$CERTS_DIR/ca.pem"
  verify: true
  timeout: 2
}
EOF
    NATS_URL="tls://127.0.0.1:$NATS_PORT"
    CONN_ARGS=(--tls-ca "$CERTS_DIR/ca.pem" --tls-cert "$CERTS_DIR/client.pem"
        --tls-key "$CERTS_DIR/client-key.pem")
    ROUTER_ENV=(BEAMLINE_NATS_TLS_CA="$CERTS_DIR/ca.pem"
        BEAMLINE_NATS_TLS_CERT="$CERTS_DIR/client.pem"
        BEAMLINE_NATS_TLS_KEY="$CERTS_DIR/client-key.pem")
else
    NATS_URL="nats://127.0.0.1:$NATS_PORT"
fi
CONN_ARGS=(--url "$NATS_URL" "${CONN_ARGS[@]}")

NATS_BIN=$(nats_server_bin)
start_process "$LOGS/nats-server.log" "$NATS_BIN" -c "$NATS_CONF"
NATS_PID=$STARTED_PID
wait_http_ok "http://127.0.0.1:$MONITOR_PORT/healthz" 10 "$NATS_PID" ||
    die "nats-server did not become healthy; see $LOGS/nats-server.log"
log "nats-server on $NATS_URL (pid $NATS_PID)"

# --- policies: weighted-only and sticky tenants, so both decision paths run ---------------------
POLICIES_DIR="$WORK/policies"
"$PYTHON" - "$POLICIES_DIR" "$TENANTS" <<'EOF'
import json, os, sys
root, tenants = sys.argv[1], int(sys.argv[2])
for t in range(tenants):
    providers = [
        {"name": "openai", "weight": 70, "expected_latency_ms": 250, "cost": 0.002},
        {"name": "anthropic", "weight": 20, "expected_latency_ms": 300, "cost": 0.003},
        {"name": "mistral", "weight": 10},
    ]
    policy = {"version": "1", "providers": providers}
    if t % 2 == 0:
        policy["sticky"] = {"enabled": True, "session_key": "user_id", "ttl": "10m"}
    os.makedirs(os.path.join(root, f"t-{t}"), exist_ok=True)
    with open(os.path.join(root, f"t-{t}", "default.json"), "w") as f:
        json.dump(policy, f)
EOF

# --- the reference and the router ----------------------------------------------------------------
start_process "$LOGS/reference.log" "$ECHO_BIN" "${CONN_ARGS[@]}" --send-asap \
    --subject "$REFERENCE_SUBJECT" --queue "$QUEUE_GROUP"
REFERENCE_PID=$STARTED_PID

HTTP_PORT=$(free_port)
PLACEHOLDER=0
REQUIRE_HEALTHZ=0
if [ -n "${BENCH_ROUTER_CMD:-}" ]; then
    ROUTER_DESC=$BENCH_ROUTER_CMD
    ROUTER_CMD=(bash -c "exec $BENCH_ROUTER_CMD")
elif "$(router_bin)" run --help >/dev/null 2>&1; then
    ROUTER_DESC="$(router_bin) run"
    ROUTER_CMD=("$(router_bin)" run)
    REQUIRE_HEALTHZ=1
else
    PLACEHOLDER=1
    ROUTER_DESC="$ECHO_BIN --send-asap (placeholder: $(router_bin) has no 'run' verb yet)"
    ROUTER_CMD=("$ECHO_BIN" --send-asap)
    printf '\n[%s] WARNING: %s cannot run yet; the echo responder stands in for the router.\n' \
        "$(basename "$0")" "$(router_bin)" >&2
    printf '[%s] WARNING: these figures measure NATS twice, not the router.\n\n' "$(basename "$0")" >&2
fi
start_process "$LOGS/router.log" env BEAMLINE_NATS_URL="$NATS_URL" \
    BEAMLINE_ROUTER_POLICIES_DIR="$POLICIES_DIR" BEAMLINE_HTTP_LISTEN="127.0.0.1:$HTTP_PORT" \
    BEAMLINE_LOG_LEVEL=warn BEAMLINE_ROUTER_PIDFILE="$WORK/router.pid" "${ROUTER_ENV[@]}" "${ROUTER_CMD[@]}"
ROUTER_PID=$STARTED_PID

if [ "$REQUIRE_HEALTHZ" = 1 ]; then
    wait_http_ok "http://127.0.0.1:$HTTP_PORT/healthz" 30 "$ROUTER_PID" ||
        die "router not healthy on 127.0.0.1:$HTTP_PORT/healthz; see $LOGS/router.log"
fi
"$LOADGEN" "${CONN_ARGS[@]}" --target "reference=$REFERENCE_SUBJECT" --target "router=$ROUTER_SUBJECT" \
    --check-ok --wait-ready 30 --duration 0 2>>"$LOGS/loadgen.log" ||
    die "no ok reply from the reference or the router; see $LOGS/loadgen.log, router.log"
log "router: $ROUTER_DESC (pid $ROUTER_PID) ready"
sleep 0.5
RSS_IDLE_KB=$(rss_kb "$ROUTER_PID")
BACKPRESSURE_BEFORE=$(backpressure_total)

# --- measurements ----------------------------------------------------------------------------------
SCENARIOS=("closed_$INFLIGHT" "closed_${INFLIGHT}_interleaved" "open_$RATE")
[ "$QUICK" = 1 ] && SCENARIOS=("closed_${INFLIGHT}_interleaved" "open_$RATE")
scenario_args() {
    case "$1" in
        closed_*) echo "--inflight $INFLIGHT" ;;
        open_*) echo "--rate $RATE --send-asap" ;;
    esac
}

RSS_SAMPLES="$WORK/rss_load.txt"
: >"$RSS_SAMPLES"
FAILED_RUNS=0
subject_of() { if [ "$1" = router ]; then echo "$ROUTER_SUBJECT"; else echo "$REFERENCE_SUBJECT"; fi; }

measure() { # measure SCENARIO ROUND TARGET... : one load generator run over the targets given
    local scenario=$1 round=$2 sampler="" target
    shift 2
    local out="$RUNS/$scenario.${1}.$round.json" target_args=()
    for target in "$@"; do target_args+=(--target "$target=$(subject_of "$target")"); done
    # A responder that fell behind is still working through the last run's requests; one prompt
    # answer to a fresh request (queued behind them) shows it has caught up.
    "$LOADGEN" "${CONN_ARGS[@]}" "${target_args[@]}" --check-ok --wait-ready 20 --duration 0 \
        2>>"$LOGS/loadgen.log" || log "$* still behind after 20 s; measuring anyway"
    local backpressure_before=""
    if [[ " $* " == *" router "* ]]; then
        backpressure_before=$(backpressure_total)
        (while kill -0 "$ROUTER_PID" 2>/dev/null; do rss_kb "$ROUTER_PID"; sleep 0.2; done) \
            >>"$RSS_SAMPLES" &
        sampler=$!
    fi
    # shellcheck disable=SC2046 # the scenario's options are words on purpose
    if ! "$LOADGEN" "${CONN_ARGS[@]}" "${target_args[@]}" --check-ok --tenants "$TENANTS" \
        --duration "$DURATION" --warmup "$WARMUP" --timeout "$TIMEOUT" \
        $(scenario_args "$scenario") >"$out" 2>>"$LOGS/loadgen.log"; then
        FAILED_RUNS=$((FAILED_RUNS + 1))
        rm -f "$out"
        log "FAILED: $scenario $* round $round (see $LOGS/loadgen.log)"
    fi
    if [ -n "$sampler" ]; then
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
        echo $(($(backpressure_total) - backpressure_before)) >>"$RUNS/$scenario.backpressure"
    fi
    kill -0 "$ROUTER_PID" 2>/dev/null || die "the router exited during the run; see $LOGS/router.log"
    kill -0 "$REFERENCE_PID" 2>/dev/null || die "the reference exited; see $LOGS/reference.log"
    [ -s "$out" ] && "$PYTHON" -c 'import json,sys
for d in json.load(open(sys.argv[1]))["targets"]:
    l = d["latency_us"]
    print("[bench_router.sh] %-9s %-12s round %s: %9.0f req/s  p50 %7.0f  p99 %7.0f  p999 %7.0f us  errors %d" % (
        d["target"], sys.argv[2], sys.argv[3], d["throughput_rps"], l["p50"], l["p99"], l["p999"], d["errors"]))' \
        "$out" "$scenario" "$round"
    return 0
}

for ((round = 1; round <= ROUNDS; round++)); do
    # Alternate who goes first, so drift during a run (thermal, neighbours) falls on both.
    if ((round % 2 == 1)); then order=(reference router); else order=(router reference); fi
    for scenario in "${SCENARIOS[@]}"; do
        case "$scenario" in
            # Interleaved: both targets in one load generator run, their requests alternating,
            # so both meet the same moments of a noisy host; that is what keeps a ratio stable.
            *_interleaved | open_*) measure "$scenario" "$round" "${order[@]}" ;;
            # Saturation with the machine to itself: one target after the other.
            closed_*) for target in "${order[@]}"; do measure "$scenario" "$round" "$target"; done ;;
        esac
    done
done
BACKPRESSURE_AFTER=$(backpressure_total)

# --- artifacts -----------------------------------------------------------------------------------
NATS_VERSION=$("$NATS_BIN" --version 2>/dev/null | head -1 || echo unknown)
GIT_COMMIT=$(git -C "$BEAMLINE_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$BEAMLINE_ROOT" status --porcelain 2>/dev/null | grep -q . && echo true || echo false)
"$PYTHON" "$BEAMLINE_ROOT/perf/bench_report.py" --runs "$RUNS" --out-json "$OUT_JSON" --out-md "$OUT_MD" \
    --meta timestamp="$(date -u +%Y-%m-%dT%H:%M:%SZ)" git_commit="$GIT_COMMIT" git_dirty="$GIT_DIRTY" \
    cpu_count="$(nproc)" kernel="$(uname -sr)" nats_server="$NATS_VERSION" tls="$TLS" quick="$QUICK" \
    rounds="$ROUNDS" duration_s="$DURATION" warmup_s="$WARMUP" inflight="$INFLIGHT" rate="$RATE" \
    tenants="$TENANTS" timeout_s="$TIMEOUT" router_cmd="$ROUTER_DESC" placeholder="$PLACEHOLDER" \
    rss_idle_kb="$RSS_IDLE_KB" rss_samples="$RSS_SAMPLES" failed_runs="$FAILED_RUNS" \
    backpressure_before="$BACKPRESSURE_BEFORE" backpressure_after="$BACKPRESSURE_AFTER" \
    scenarios="${SCENARIOS[*]}"
cat "$OUT_MD"
log "wrote $OUT_JSON"
[ "$FAILED_RUNS" = 0 ]
