#!/usr/bin/env bash
# Measures decide over a real nats-server: caller -> nats-server -> router -> nats-server -> caller,
# against an echo responder on the same server (the reference ceiling), in the same run, so the
# perf gate can judge router/reference ratios rather than noisy absolute times. Each round runs
#   closed_<N>:             N requests in flight, one target after the other (the order alternates
#                           between rounds): each one's saturation throughput, latency and CPU per
#                           reply (the responder's and nats-server's). The same load from the plain
#                           libnats generator (beamline_libnats_loadgen) shows the load generator
#                           is not the limit; with the full run also two echo responders in one
#                           queue group (the echo is not the limit) and the router under libnats;
#   closed_<N>_interleaved: N in flight to each at once, requests interleaved in one load
#                           generator run, so both meet the same moments of a noisy machine;
#   open_<R>:               R requests/s to each, interleaved the same way;
# and the full run also
#   tls_closed_<N>:         closed_<N> over mutual TLS, on a second nats-server (with --tls, the
#                           main server is the TLS one and this scenario is left out);
#   tenants_<K>:            the router's closed loop with requests over K tenants (10,000 and
#                           50,000), each with its own policy file, against routers started on
#                           those policy sets; compared with the 1,000-tenant router's same round;
#   flood:                  one tenant floods (N in flight) while another sends 500 requests/s;
#                           the quiet tenant's latency, router against echo;
#   overload:               a router of its own, slowed by backpressure.diagnostic_decide_delay_us
#                           and with marks that make its backpressure engage: its capacity measured
#                           in a closed loop, then open loops at 0.5x and 2x that capacity, then the
#                           time until its backpressure is back to inactive (perf/README.md).
# Before each run every target must answer a fresh request, so a responder still working through
# the previous run's backlog does not spoil the next measurement.
#
#   scripts/bench_router.sh [--tls] [--quick] [--scenario NAME]...
#     --tls    mutual TLS between every client and the main nats-server
#     --quick  for CI, about a minute: closed_<N>, closed_<N>_interleaved and open_<R>, 3 x 4 s
#     --scenario NAME   only these scenarios (repeatable; names as above, e.g. overload, flood,
#                       tenants_10000), with --quick's or the full run's durations
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
#   BENCH_TENANT_SETS ("10000 50000"), BENCH_QUIET_RATE (500)   full-run scenarios
#   BENCH_OVERLOAD_DELAY_US (8000), BENCH_OVERLOAD_SLOTS (8), BENCH_OVERLOAD_INFLIGHT (32),
#   BENCH_OVERLOAD_HIGH (96), BENCH_OVERLOAD_LOW (16), BENCH_OVERLOAD_WARMUP (3)   the overload
#                        scenario: the slowed router's decision delay and how many decisions it
#                        runs at once, the closed loop that measures its capacity, its inflight
#                        marks, and the unmeasured seconds at 2x while backpressure engages
#   BEAMLINE_LOADGEN, BEAMLINE_LIBNATS_LOADGEN, BEAMLINE_ECHO   the bench binaries ($BUILD_DIR/perf/)
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
ONLY=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tls) TLS=1 ;;
        --quick) QUICK=1 ;;
        --scenario)
            [ $# -ge 2 ] || die "--scenario needs a name (see --help)"
            ONLY+=("$2")
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
# wanted SCENARIO: whether this run measures it (every scenario of the mode without --scenario).
wanted() {
    local name
    [ ${#ONLY[@]} = 0 ] && return 0
    for name in "${ONLY[@]}"; do [ "$name" = "$1" ] && return 0; done
    return 1
}

if [ "$QUICK" = 1 ]; then
    # The gated scenarios and the saturation figures, in three rounds: a median of three resists
    # one bad moment.
    ROUNDS=${BENCH_ROUNDS:-3} DURATION=${BENCH_DURATION:-4} WARMUP=${BENCH_WARMUP:-0.5}
else
    ROUNDS=${BENCH_ROUNDS:-3} DURATION=${BENCH_DURATION:-5} WARMUP=${BENCH_WARMUP:-1}
fi
INFLIGHT=${BENCH_INFLIGHT:-512}
RATE=${BENCH_RATE:-10000}
TENANTS=${BENCH_TENANTS:-1000}
TIMEOUT=${BENCH_TIMEOUT:-5}
TENANT_SETS=${BENCH_TENANT_SETS:-10000 50000}
QUIET_RATE=${BENCH_QUIET_RATE:-500}
OVERLOAD_SLOTS=${BENCH_OVERLOAD_SLOTS:-8}
OVERLOAD_DELAY_US=${BENCH_OVERLOAD_DELAY_US:-8000}
OVERLOAD_INFLIGHT=${BENCH_OVERLOAD_INFLIGHT:-32}
OVERLOAD_HIGH=${BENCH_OVERLOAD_HIGH:-96}
OVERLOAD_LOW=${BENCH_OVERLOAD_LOW:-16}
OVERLOAD_WARMUP=${BENCH_OVERLOAD_WARMUP:-3}
# The router's defaults, read back into the report: recovery is judged against recover_after_ms.
OVERLOAD_RECOVER_AFTER_MS=5000
LOADGEN=${BEAMLINE_LOADGEN:-$BUILD_DIR/perf/beamline_loadgen}
LIBNATS_LOADGEN=${BEAMLINE_LIBNATS_LOADGEN:-$BUILD_DIR/perf/beamline_libnats_loadgen}
ECHO_BIN=${BEAMLINE_ECHO:-$BUILD_DIR/perf/beamline_echo}
ROUTER_SUBJECT=beamline.router.v1.decide
QUEUE_GROUP=beamline-router

for bin in "$LOADGEN" "$LIBNATS_LOADGEN" "$ECHO_BIN"; do
    [ -x "$bin" ] || die "$bin is missing: cmake --build build --target beamline_loadgen beamline_libnats_loadgen beamline_echo"
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
# Memory-backed when there is one: 50,000 policy files take minutes to delete from a busy disk.
WORK_ROOT=${TMPDIR:-/tmp}
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && WORK_ROOT=/dev/shm
WORK=$(mktemp -d "$WORK_ROOT/beamline-bench.XXXXXX")
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

# --- targets ---------------------------------------------------------------------------------------
# A target is a responder (or a queue group of them) on one subject of one nats-server ("stack").
declare -A SUBJECT PIDS STACK REPORT_AS # per target (REPORT_AS: its name in the artifact)
declare -A CONN NATS_PID_OF          # per stack: load generator connection options, server pid
declare -A ROUTER_HTTP ROUTER_TENANTS # per router target

# start_nats STACK TLS(0|1): a nats-server on free ports; sets CONN[STACK] and NATS_PID_OF[STACK].
start_nats() {
    local stack=$1 tls=$2 port monitor conf url args
    port=$(free_port)
    monitor=$(free_port)
    conf="$WORK/nats-$stack.conf"
    printf 'listen: 127.0.0.1:%s\nhttp: 127.0.0.1:%s\n' "$port" "$monitor" >"$conf"
    if [ "$tls" = 1 ]; then
        if [ ! -e "$WORK/certs/ca.pem" ]; then
            CERTS_DIR="$WORK/certs" "$BEAMLINE_ROOT/scripts/generate_certs.sh" --quiet \
                >"$LOGS/certs.log" 2>&1 || die "generate_certs.sh failed; see $LOGS/certs.log"
        fi
        cat >>"$conf" <<EOF
tls {
  cert_file: "$WORK/certs/server.pem"
  key_file: "$WORK/certs/server-key.pem"
  ca_file: "$WORK/certs/ca.pem"
  verify: true
  timeout: 2
}
EOF
        url="tls://127.0.0.1:$port"
        args="--url $url --tls-ca $WORK/certs/ca.pem --tls-cert $WORK/certs/client.pem --tls-key $WORK/certs/client-key.pem"
    else
        url="nats://127.0.0.1:$port"
        args="--url $url"
    fi
    start_process "$LOGS/nats-server-$stack.log" "$NATS_BIN" -c "$conf"
    NATS_PID_OF[$stack]=$STARTED_PID
    CONN[$stack]=$args
    wait_http_ok "http://127.0.0.1:$monitor/healthz" 10 "$STARTED_PID" ||
        die "nats-server ($stack) did not become healthy; see $LOGS/nats-server-$stack.log"
    log "nats-server $stack on $url (pid $STARTED_PID)"
}

# start_echo TARGET STACK [COUNT [OPTION...]]: COUNT echo responders in one queue group on the
# target's subject.
start_echo() {
    local target=$1 stack=$2 count=${3:-1} i
    shift $(($# < 3 ? $# : 3))
    SUBJECT[$target]="beamline.bench.$target.v1.decide"
    STACK[$target]=$stack
    PIDS[$target]=""
    for ((i = 1; i <= count; i++)); do
        # shellcheck disable=SC2086 # the connection options are words on purpose
        start_process "$LOGS/$target-$i.log" "$ECHO_BIN" ${CONN[$stack]} \
            --subject "${SUBJECT[$target]}" --queue "$QUEUE_GROUP" "$@"
        PIDS[$target]="${PIDS[$target]} $STARTED_PID"
    done
}

make_policies() { "$PYTHON" "$BEAMLINE_ROOT/perf/make_policies.py" "$1" "$2"; }

# start_router TARGET STACK TENANTS SUBJECT [VAR=VALUE...]: a router with its own policy set of
# TENANTS tenants, and any further settings given.
start_router() {
    local target=$1 stack=$2 tenants=$3 subject=$4 http tls_env=() extra_env=("${@:5}")
    local policies="$WORK/policies-$tenants"
    [ -d "$policies" ] || make_policies "$policies" "$tenants"
    http=$(free_port)
    SUBJECT[$target]=$subject
    STACK[$target]=$stack
    ROUTER_HTTP[$target]=$http
    ROUTER_TENANTS[$target]=$tenants
    if [[ "${CONN[$stack]}" == *--tls-ca* ]]; then
        tls_env=(BEAMLINE_NATS_TLS_CA="$WORK/certs/ca.pem" BEAMLINE_NATS_TLS_CERT="$WORK/certs/client.pem"
            BEAMLINE_NATS_TLS_KEY="$WORK/certs/client-key.pem")
    fi
    local url=${CONN[$stack]#--url }
    start_process "$LOGS/$target.log" env BEAMLINE_NATS_URL="${url%% *}" \
        BEAMLINE_ROUTER_POLICIES_DIR="$policies" BEAMLINE_ROUTER_DECIDE_SUBJECT="$subject" \
        BEAMLINE_HTTP_LISTEN="127.0.0.1:$http" BEAMLINE_LOG_LEVEL=warn \
        BEAMLINE_ROUTER_PIDFILE="$WORK/$target.pid" "${tls_env[@]}" "${extra_env[@]}" "${ROUTER_CMD[@]}"
    PIDS[$target]=$STARTED_PID
    if [ "$REQUIRE_HEALTHZ" = 1 ]; then
        wait_http_ok "http://127.0.0.1:$http/healthz" 120 "$STARTED_PID" ||
            die "$target not healthy on 127.0.0.1:$http/healthz; see $LOGS/$target.log"
    fi
}

# wait_ready SECONDS TARGET...: one ok answer from each (they share a stack).
wait_ready() {
    local seconds=$1 args=() target
    shift
    for target in "$@"; do args+=(--target "$target=${SUBJECT[$target]}"); done
    # shellcheck disable=SC2086
    "$LOADGEN" ${CONN[${STACK[$1]}]} "${args[@]}" --check-ok --wait-ready "$seconds" --duration 0 \
        2>>"$LOGS/loadgen.log"
}

# --- the stacks ------------------------------------------------------------------------------------
NATS_BIN=$(nats_server_bin)
start_nats main "$TLS"

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
    ROUTER_DESC="$ECHO_BIN (placeholder: $(router_bin) has no 'run' verb yet)"
    ROUTER_CMD=("$ECHO_BIN")
    printf '\n[%s] WARNING: %s cannot run yet; the echo responder stands in for the router.\n' \
        "$(basename "$0")" "$(router_bin)" >&2
    printf '[%s] WARNING: these figures measure NATS twice, not the router.\n\n' "$(basename "$0")" >&2
fi
# A stand-in takes its subject from the router's environment only if it reads it; the echo does
# not, so a placeholder or BENCH_ROUTER_CMD answers on the router's default subject.
[ "$PLACEHOLDER" = 1 ] || [ -n "${BENCH_ROUTER_CMD:-}" ] && STANDIN=1 || STANDIN=0

# Two references: under saturation the echo lets libnats batch its writes (its fastest); at a
# fixed rate it writes each reply at once (its lowest latency), as the router's client does when
# idle. Each is the ceiling for the loads it is used with, and reported as "reference".
start_echo reference main
start_echo reference_asap main 1 --send-asap
REPORT_AS[reference_asap]=reference
start_router router main "$TENANTS" "$ROUTER_SUBJECT"
HTTP_PORT=${ROUTER_HTTP[router]}
ROUTERS=(router)
CLOSED="closed_$INFLIGHT"
# Every scenario this mode can run, in the order rounds run them; --scenario picks among them.
KNOWN=("$CLOSED" "${CLOSED}_interleaved" "open_$RATE" "tls_$CLOSED")
for k in $TENANT_SETS; do KNOWN+=("tenants_$k"); done
KNOWN+=(flood overload)
for name in "${ONLY[@]}"; do
    [[ " ${KNOWN[*]} " == *" $name "* ]] || die "unknown scenario '$name'; known: ${KNOWN[*]}"
done
[ "$TLS" = 1 ] && wanted "tls_$CLOSED" && [ ${#ONLY[@]} -gt 0 ] &&
    die "tls_$CLOSED runs on a second server, left out with --tls (the main server is the TLS one)"
[ "$STANDIN" = 1 ] && wanted overload && [ ${#ONLY[@]} -gt 0 ] &&
    die "overload needs the router's backpressure; a stand-in has none"
# full: the scenario is in the full run (not in --quick unless asked for by name).
full() { wanted "$1" && { [ "$QUICK" = 0 ] || [ ${#ONLY[@]} -gt 0 ]; }; }
if full "$CLOSED"; then
    start_echo reference_x2 main 2
fi
if [ "$STANDIN" = 0 ]; then
    for k in $TENANT_SETS; do
        full "tenants_$k" || continue
        start_router "router_$k" main "$k" "beamline.bench.router_$k.v1.decide"
        ROUTERS+=("router_$k")
    done
    if full overload; then
        # Slowed so its capacity is the decision delay's, far below what the load generator and
        # nats-server can offer (2x the plain router's capacity would be beyond them on this kind of
        # host); inflight marks below the capacity closed loop's would activate it while measuring.
        start_router router_overload main "$TENANTS" "beamline.bench.router_overload.v1.decide" \
            BEAMLINE_BACKPRESSURE_DIAGNOSTIC_DECIDE_SLOTS="$OVERLOAD_SLOTS" BEAMLINE_BACKPRESSURE_DIAGNOSTIC_DECIDE_DELAY_US="$OVERLOAD_DELAY_US" \
            BEAMLINE_BACKPRESSURE_INFLIGHT_HIGH="$OVERLOAD_HIGH" BEAMLINE_BACKPRESSURE_INFLIGHT_LOW="$OVERLOAD_LOW" \
            BEAMLINE_BACKPRESSURE_RECOVER_AFTER_MS="$OVERLOAD_RECOVER_AFTER_MS"
        ROUTERS+=(router_overload)
    fi
fi
if full "tls_$CLOSED"; then
    if [ "$TLS" = 0 ]; then
        start_nats tls 1
        start_echo tls_reference tls
        REPORT_AS[tls_reference]=reference
        REPORT_AS[tls_router]=router
        start_router tls_router tls "$TENANTS" "$ROUTER_SUBJECT"
        ROUTERS+=(tls_router)
    fi
fi

for target in "${!SUBJECT[@]}"; do
    wait_ready 120 "$target" || die "no ok reply from $target; see $LOGS/loadgen.log, $LOGS/$target*.log"
done
log "router: $ROUTER_DESC (pid ${PIDS[router]}) ready; targets: ${!SUBJECT[*]}"
sleep 0.5
declare -A RSS_IDLE
for target in "${ROUTERS[@]}"; do RSS_IDLE[$target]=$(rss_kb "${PIDS[$target]}"); done
BACKPRESSURE_BEFORE=$(backpressure_total)

# --- measurements ----------------------------------------------------------------------------------
FAILED_RUNS=0

cpu_args() { # cpu_args LABEL=TARGET...: --cpu-pid for every responder process and the server
    local pair pid
    for pair in "$@"; do
        for pid in ${PIDS[${pair#*=}]}; do printf -- '--cpu-pid %s=%s ' "${pair%%=*}" "$pid"; done
    done
    printf -- '--cpu-pid nats=%s' "${NATS_PID_OF[${STACK[${1#*=}]}]}"
}

sample_rss() { # sample_rss TARGET: background sampler of a router's RSS; prints its pid
    local pid=${PIDS[$1]}
    (while kill -0 "$pid" 2>/dev/null; do rss_kb "$pid"; sleep 0.2; done) >>"$WORK/rss_$1.txt" &
    echo $!
}

print_run() { # print_run FILE SCENARIO ROUND
    "$PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1]))
for t in d.get("targets") or [dict(d, target=sys.argv[4])]:
    l = t["latency_us"]
    line = "[bench_router.sh] %-14s %-24s round %s: %9.0f req/s  p50 %7.0f  p99 %7.0f  p999 %7.0f us  errors %d" % (
        t["target"], sys.argv[2], sys.argv[3], t["throughput_rps"], l["p50"], l["p99"], l["p999"], t.get("errors", 0))
    if t.get("overloaded"):  # refusals apart, and the accepted requests own tail
        a = t["accepted_latency_us"]
        line += " (overloaded %d; sent %.0f/s; accepted p50 %.0f p99 %.0f us)" % (
            t["overloaded"], t["achieved_send_rps"], a["p50"], a["p99"])
    print(line)' \
        "$1" "$2" "$3" "$4"
}

# measure SCENARIO ROUND LABEL TOOL_ARGS -- TARGET...: one load generator run; its JSON goes to
# $RUNS/SCENARIO.LABEL.ROUND.json. A single target is reported as LABEL, several by their names.
# TOOL_ARGS start with "libnats" for the plain generator.
measure() {
    local scenario=$1 round=$2 label=$3 tool_args=() targets=() target sampler=() i
    shift 3
    while [ "$1" != -- ]; do tool_args+=("$1"); shift; done
    shift
    targets=("$@")
    local stack=${STACK[${targets[0]}]} out="$RUNS/$scenario.$label.$round.json" target_args=() pairs=()
    for target in "${targets[@]}"; do
        local name=${REPORT_AS[$target]:-$target}
        [ ${#targets[@]} = 1 ] && name=$label
        target_args+=(--target "$name=${SUBJECT[$target]}")
        pairs+=("$name=$target")
    done
    # A responder that fell behind is still working through the last run's requests; one prompt
    # answer to a fresh request (queued behind them) shows it has caught up.
    wait_ready 20 "${targets[@]}" || log "${targets[*]} still behind after 20 s; measuring anyway"
    local backpressure_before
    backpressure_before=$(backpressure_total)
    for target in "${targets[@]}"; do
        [ -n "${ROUTER_HTTP[$target]:-}" ] && sampler+=("$(sample_rss "$target")")
    done
    local ok=1
    if [ "${tool_args[0]}" = libnats ]; then
        # shellcheck disable=SC2086
        "$LIBNATS_LOADGEN" ${CONN[$stack]} --subject "${SUBJECT[${targets[0]}]}" \
            --duration "$DURATION" --warmup "$WARMUP" --tenants "$TENANTS" "${tool_args[@]:1}" \
            >"$out" 2>>"$LOGS/loadgen.log" || ok=0
    else
        # shellcheck disable=SC2086,SC2046
        # A later --tenants in TOOL_ARGS (the tenant-set scenarios) wins.
        "$LOADGEN" ${CONN[$stack]} "${target_args[@]}" --check-ok --tenants "$TENANTS" --duration "$DURATION" \
            --warmup "$WARMUP" --timeout "$TIMEOUT" $(cpu_args "${pairs[@]}") "${tool_args[@]}" \
            >"$out" 2>>"$LOGS/loadgen.log" || ok=0
    fi
    if [ "$ok" = 0 ]; then
        FAILED_RUNS=$((FAILED_RUNS + 1))
        rm -f "$out"
        log "FAILED: $scenario ${targets[*]} round $round (see $LOGS/loadgen.log)"
    fi
    for target in "${sampler[@]}"; do kill "$target" 2>/dev/null || true; wait "$target" 2>/dev/null || true; done
    [[ " ${targets[*]} " == *" router "* ]] &&
        echo $(($(backpressure_total) - backpressure_before)) >>"$RUNS/$scenario.backpressure"
    for target in "${!PIDS[@]}"; do
        for pid in ${PIDS[$target]}; do
            kill -0 "$pid" 2>/dev/null || die "$target exited during the run; see $LOGS/$target*.log"
        done
    done
    [ -s "$out" ] && print_run "$out" "$scenario" "$round" "$label"
    return 0
}

# flood SCENARIO ROUND TARGET NAME: tenant t-0 keeps INFLIGHT requests in flight while tenant t-1
# sends QUIET_RATE requests/s; the quiet tenant's figures are reported as NAME, the flood's as
# NAME_flood.
flood() {
    local scenario=$1 round=$2 target=$3 stack=${STACK[$3]} flood_pid
    local quiet_out="$RUNS/$scenario.$4.$round.json" flood_out="$RUNS/$scenario.$4_flood.$round.json"
    wait_ready 20 "$target" || log "$target still behind after 20 s; measuring anyway"
    # shellcheck disable=SC2086,SC2046
    "$LOADGEN" ${CONN[$stack]} --target "$4_flood=${SUBJECT[$target]}" --check-ok \
        --duration "$DURATION" --warmup "$WARMUP" --timeout "$TIMEOUT" --inflight "$INFLIGHT" \
        --tenants 1 $(cpu_args "$4_flood=$target") >"$flood_out" 2>>"$LOGS/loadgen.log" &
    flood_pid=$!
    # shellcheck disable=SC2086
    "$LOADGEN" ${CONN[$stack]} --target "$4=${SUBJECT[$target]}" --check-ok --duration "$DURATION" \
        --warmup "$WARMUP" --timeout "$TIMEOUT" --rate "$QUIET_RATE" --send-asap --tenants 1 \
        --tenant-offset 1 >"$quiet_out" 2>>"$LOGS/loadgen.log" ||
        { FAILED_RUNS=$((FAILED_RUNS + 1)); rm -f "$quiet_out"; }
    wait "$flood_pid" || { FAILED_RUNS=$((FAILED_RUNS + 1)); rm -f "$flood_out"; }
    local file
    for file in "$flood_out" "$quiet_out"; do
        [ -s "$file" ] && print_run "$file" "$scenario" "$round" "$4"
    done
    return 0
}

# backpressure_of TARGET: "<state> <activations>" from the router's GET /v1/backpressure.
backpressure_of() {
    local body
    body=$(curl -fsS --max-time 1 "http://127.0.0.1:${ROUTER_HTTP[$1]}/v1/backpressure" 2>/dev/null) || body=""
    body=$(sed -n 's/.*"state":"\([a-z]*\)".*"activations":\([0-9]*\).*/\1 \2/p' <<<"$body")
    echo "${body:-unknown 0}"
}

# wait_inactive TARGET SECONDS: polls every 50 ms until its backpressure reads inactive; prints
# the wall-clock time it did, in ms since the epoch (nothing if it did not).
wait_inactive() {
    local deadline=$((SECONDS + $2)) state
    while [ $SECONDS -lt "$deadline" ]; do
        state=$(backpressure_of "$1")
        [ "${state%% *}" = inactive ] && { date +%s%3N; return 0; }
        sleep 0.05
    done
    return 1
}

# settle TARGET: what an earlier load left behind is over. A backlog still in the socket or in
# nats-server is invisible to backpressure (docs/BACKPRESSURE.md), so first one prompt answer to a
# fresh request, then the state back to inactive.
settle() {
    wait_ready 20 "$1" || log "$1 still behind after 20 s; measuring anyway"
    wait_inactive "$1" 60 >/dev/null || log "$1 still not inactive after 60 s; measuring anyway"
}

# overload ROUND: on router_overload, capacity (closed loop), then open loops at 0.5x and 2x it,
# then the time from the last request of the 2x load until backpressure reads inactive again.
overload() {
    local round=$1 target=router_overload capacity before after inactive_ms ended_ms
    local prefix="$RUNS/overload" double_out="$RUNS/overload.double.$1.json"
    # A previous round's overload must be over before this one is measured.
    settle "$target"
    measure overload "$round" capacity --inflight "$OVERLOAD_INFLIGHT" -- "$target"
    capacity=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["targets"][0]["throughput_rps"])' \
        "$prefix.capacity.$round.json" 2>/dev/null) || capacity=""
    if [ -z "$capacity" ] || [ "${capacity%%.*}" -lt 1 ]; then
        log "FAILED: overload round $round: no capacity measured"
        FAILED_RUNS=$((FAILED_RUNS + 1))
        return 0
    fi
    # On a noisy host the capacity can fall below half of what was measured a moment ago; a load
    # that activated backpressure must be over before the next is measured.
    settle "$target"
    measure overload "$round" half --rate "$("$PYTHON" -c "print($capacity / 2)")" --send-asap -- "$target"
    settle "$target"
    before=$(backpressure_of "$target")
    measure overload "$round" double --rate "$("$PYTHON" -c "print($capacity * 2)")" --send-asap \
        --warmup "$OVERLOAD_WARMUP" -- "$target"
    inactive_ms=$(wait_inactive "$target" 60) || inactive_ms=""
    after=$(backpressure_of "$target")
    ended_ms=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sending_ended_unix_ms"])' \
        "$double_out" 2>/dev/null) || ended_ms=""
    [ -n "$inactive_ms" ] || log "overload round $round: backpressure still not inactive 60 s after the load"
    printf '{"capacity_rps":%s,"activations":%s,"recover_ms":%s,"recover_after_ms":%s,"inflight_high":%s,"inflight_low":%s,"delay_us":%s,"slots":%s,"capacity_inflight":%s,"warmup_s":%s}\n' \
        "$capacity" "$(( ${after##* } - ${before##* } ))" \
        "$([ -n "$inactive_ms" ] && [ -n "$ended_ms" ] && echo $((inactive_ms - ended_ms)) || echo null)" \
        "$OVERLOAD_RECOVER_AFTER_MS" "$OVERLOAD_HIGH" "$OVERLOAD_LOW" "$OVERLOAD_DELAY_US" "$OVERLOAD_SLOTS" "$OVERLOAD_INFLIGHT" \
        "$OVERLOAD_WARMUP" >"$RUNS/overload_recovery.$round.json"
    log "overload round $round: capacity $capacity req/s; backpressure activations ${before##* } -> ${after##* }; $(
        [ -n "$inactive_ms" ] && [ -n "$ended_ms" ] && echo "inactive $((inactive_ms - ended_ms)) ms after the load" || echo "no recovery measured")"
    return 0
}

SCENARIOS=()
for name in "${KNOWN[@]}"; do
    case "$name" in
        "$CLOSED" | "${CLOSED}_interleaved" | "open_$RATE") wanted "$name" && SCENARIOS+=("$name") ;;
        tls_*) [ -n "${SUBJECT[tls_router]:-}" ] && SCENARIOS+=("$name") ;;
        tenants_*) [ -n "${SUBJECT[router_${name#tenants_}]:-}" ] && SCENARIOS+=("$name") ;;
        flood) full flood && SCENARIOS+=(flood) ;;
        overload) [ -n "${SUBJECT[router_overload]:-}" ] && SCENARIOS+=(overload) ;;
    esac
done

for ((round = 1; round <= ROUNDS; round++)); do
    # Alternate who goes first, so drift during a run (thermal, neighbours) falls on both.
    if ((round % 2 == 1)); then order=(reference router); else order=(router reference); fi
    open_order=("${order[@]/#reference/reference_asap}")
    # The plain libnats loop runs next to the echo run it checks, on alternating sides.
    closed_targets=(libnats_reference reference router) reversed=()
    [ "$QUICK" = 0 ] && closed_targets+=(reference_x2 libnats_router)
    if ((round % 2 == 0)); then
        for ((i = ${#closed_targets[@]} - 1; i >= 0; i--)); do reversed+=("${closed_targets[i]}"); done
        closed_targets=("${reversed[@]}")
    fi
    for scenario in "${SCENARIOS[@]}"; do
        case "$scenario" in
            "$CLOSED")
                for target in "${closed_targets[@]}"; do
                    case "$target" in
                        libnats_*) measure "$scenario" "$round" "$target" libnats --inflight "$INFLIGHT" -- "${target#libnats_}" ;;
                        *) measure "$scenario" "$round" "$target" --inflight "$INFLIGHT" -- "$target" ;;
                    esac
                done
                ;;
            # Interleaved: both targets in one load generator run, their requests alternating,
            # so both meet the same moments of a noisy host; that is what keeps a ratio stable.
            *_interleaved) measure "$scenario" "$round" "${order[0]}" --inflight "$INFLIGHT" -- "${order[@]}" ;;
            open_*) measure "$scenario" "$round" "${order[0]}" --rate "$RATE" --send-asap -- "${open_order[@]}" ;;
            tls_*)
                for target in "tls_${order[0]}" "tls_${order[1]}"; do
                    measure "$scenario" "$round" "${target#tls_}" --inflight "$INFLIGHT" -- "$target"
                done
                measure "$scenario" "$round" libnats_reference libnats --inflight "$INFLIGHT" -- tls_reference
                ;;
            tenants_*)
                k=${scenario#tenants_}
                measure "$scenario" "$round" router --inflight "$INFLIGHT" --tenants "$k" -- "router_$k"
                ;;
            flood) for target in "${open_order[@]}"; do flood "$scenario" "$round" "$target" "${REPORT_AS[$target]:-$target}"; done ;;
            overload) overload "$round" ;;
        esac
    done
done
BACKPRESSURE_AFTER=$(backpressure_total)

# --- artifacts -----------------------------------------------------------------------------------
ROUTER_RSS_ARGS=()
for target in "${ROUTERS[@]}"; do
    ROUTER_RSS_ARGS+=("rss_idle_kb.$target=${RSS_IDLE[$target]}" "rss_samples.$target=$WORK/rss_$target.txt"
        "tenants.$target=${ROUTER_TENANTS[$target]}")
done
NATS_VERSION=$("$NATS_BIN" --version 2>/dev/null | head -1 || echo unknown)
GIT_COMMIT=$(git -C "$BEAMLINE_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$BEAMLINE_ROOT" status --porcelain 2>/dev/null | grep -q . && echo true || echo false)
"$PYTHON" "$BEAMLINE_ROOT/perf/bench_report.py" --runs "$RUNS" --out-json "$OUT_JSON" --out-md "$OUT_MD" \
    --meta timestamp="$(date -u +%Y-%m-%dT%H:%M:%SZ)" git_commit="$GIT_COMMIT" git_dirty="$GIT_DIRTY" \
    cpu_count="$(nproc)" kernel="$(uname -sr)" nats_server="$NATS_VERSION" tls="$TLS" quick="$QUICK" \
    rounds="$ROUNDS" duration_s="$DURATION" warmup_s="$WARMUP" inflight="$INFLIGHT" rate="$RATE" \
    tenants="$TENANTS" timeout_s="$TIMEOUT" quiet_rate="$QUIET_RATE" router_cmd="$ROUTER_DESC" \
    placeholder="$PLACEHOLDER" failed_runs="$FAILED_RUNS" load_average="$(cut -d' ' -f1-3 /proc/loadavg)" \
    backpressure_before="$BACKPRESSURE_BEFORE" backpressure_after="$BACKPRESSURE_AFTER" \
    scenarios="${SCENARIOS[*]}" "${ROUTER_RSS_ARGS[@]}"
cat "$OUT_MD"
log "wrote $OUT_JSON"
[ "$FAILED_RUNS" = 0 ]
