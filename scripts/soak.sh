#!/usr/bin/env bash
# Soak: drives mixed valid and invalid decide traffic through a real nats-server into the router
# for N minutes and prints the router's RSS and open descriptors at intervals, then a summary.
#   scripts/soak.sh [--minutes N] [--interval S] [--rate R]
#     --minutes N    how long to drive traffic (default 10)
#     --interval S   seconds between samples, one load round each (default 30)
#     --rate R       valid requests per second (default 200); each of the malformed payloads is
#                    sent at a tenth of it, and requests for unknown tenants at a fifth
# Every request must be answered: a round with a timeout (a request that got no reply) fails the
# soak, as does the router exiting. Exit 0 otherwise, with first/last/max RSS in the summary
# (whether RSS is flat is for the reader to judge: a rising last-vs-first is the warning sign).
# Environment: BEAMLINE_LOADGEN (build/perf/beamline_loadgen), BEAMLINE_ROUTER_BIN, SOAK_KEEP_WORK=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The router under test is configured here alone (see bench_router.sh for why).
while read -r var; do
    [ "$var" = BEAMLINE_ROUTER_BIN ] || unset "$var"
done < <(compgen -e | grep -E '^BEAMLINE_(NATS|ROUTER|HTTP|LOG)_')

MINUTES=10
INTERVAL=30
RATE=200
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES="$2"; shift 2 ;;
        --interval) INTERVAL="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        -h | --help) usage_from_header; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
for v in MINUTES INTERVAL RATE; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive whole number, got '${!v}'"
done

LOADGEN=${BEAMLINE_LOADGEN:-$BUILD_DIR/perf/beamline_loadgen}
ROUTER=$(router_bin)
for bin in "$LOADGEN" "$ROUTER"; do
    [ -x "$bin" ] || die "$bin is missing: cmake --build build --target beamline_loadgen beamline_router"
done
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "python3 is required"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/beamline-soak.XXXXXX")
STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${SOAK_KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
NATS_URL="nats://127.0.0.1:$NATS_PORT"
"$(nats_server_bin)" -a 127.0.0.1 -p "$NATS_PORT" >"$WORK/nats-server.log" 2>&1 &
STARTED_PIDS+=($!)

# Ten tenants with a policy; the load generator's default tenant ids t-0.. beyond them are unknown.
"$PYTHON" - "$WORK/policies" <<'EOF'
import json, os, sys
for t in range(10):
    os.makedirs(os.path.join(sys.argv[1], f"t-{t}"), exist_ok=True)
    with open(os.path.join(sys.argv[1], f"t-{t}", "default.json"), "w") as f:
        json.dump({"version": "1", "sticky": {"enabled": True, "session_key": "user_id", "ttl": "1m"},
                   "providers": [{"name": "openai", "weight": 70}, {"name": "anthropic", "weight": 30}]}, f)
EOF

env BEAMLINE_NATS_URL="$NATS_URL" BEAMLINE_ROUTER_POLICIES_DIR="$WORK/policies" \
    BEAMLINE_HTTP_LISTEN="127.0.0.1:$HTTP_PORT" BEAMLINE_LOG_LEVEL=warn \
    BEAMLINE_ROUTER_PIDFILE="$WORK/router.pid" BEAMLINE_ROUTER_IDEMPOTENCY_TTL_S=30 \
    "$ROUTER" run >"$WORK/router.log" 2>&1 &
ROUTER_PID=$!
STARTED_PIDS+=("$ROUTER_PID")
for _ in $(seq 300); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null && break
    kill -0 "$ROUTER_PID" 2>/dev/null || die "the router exited at start; see $WORK/router.log"
    sleep 0.1
done
curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" || die "router never became healthy"
log "router pid $ROUTER_PID on $NATS_URL, http 127.0.0.1:$HTTP_PORT; $MINUTES min, a sample every $INTERVAL s"

# Malformed and refused requests, one file each: every one must still get exactly one reply.
mkdir -p "$WORK/bad"
printf '%s' '{"version":"1","request_id":"b-1","tenant_id":"t-1","task":' >"$WORK/bad/truncated.json"
printf '%s' 'not json at all' >"$WORK/bad/not_json.json"
printf '%s' '{"version":"9","request_id":"b-2","tenant_id":"t-1","task":{"type":"x","payload":{}}}' >"$WORK/bad/version.json"
printf '%s' '{"version":"1","request_id":"b-3","tenant_id":"t-1"}' >"$WORK/bad/no_task.json"
printf '%s' '{"version":"1","request_id":"b-4","tenant_id":"t-1","policy_id":"missing","task":{"type":"x","payload":{}}}' >"$WORK/bad/no_policy.json"
printf '%s' '{"version":"1","request_id":"b-5","tenant_id":"t-1","push_assignment":true,"assignment_subject":"bad subject *","task":{"type":"x","payload":{}}}' >"$WORK/bad/subject.json"
"$PYTHON" -c 'import sys; sys.stdout.write("{\"version\":\"1\",\"request_id\":\"" + "x"*300000 + "\"}")' >"$WORK/bad/huge_id.json"
"$PYTHON" -c 'import sys; sys.stdout.write("[" * 100000)' >"$WORK/bad/deep.json"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
sum_field() { # sum_field NAME FILE...: the sum of "NAME":<number> over the load generators' reports
    local name=$1
    shift
    grep -oh "\"$name\":[0-9]*" "$@" 2>/dev/null | awk -F: '{s += $NF} END {print s + 0}'
}

rounds=$(((MINUTES * 60 + INTERVAL - 1) / INTERVAL))
first_rss=$(rss_kb "$ROUTER_PID")
max_rss=$first_rss
failures=0
total_sent=0
total_replies=0
printf '%8s %10s %6s %9s %9s %8s\n' elapsed_s rss_kb fds sent replies timeouts
printf '%8s %10s %6s %9s %9s %8s\n' 0 "$first_rss" "$(fd_count "$ROUTER_PID")" - - -
start=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    out="$WORK/round"
    rm -rf "$out"
    mkdir -p "$out"
    common=(--url "$NATS_URL" --duration "$INTERVAL" --warmup 0 --timeout 5)
    # Valid traffic over the ten tenants with a policy, and some for tenants without one.
    "$LOADGEN" "${common[@]}" --rate "$RATE" --tenants 10 --users 5000 >"$out/valid.json" 2>"$out/valid.err" &
    pids=($!)
    "$LOADGEN" "${common[@]}" --rate $((RATE / 5 + 1)) --tenants 100000 >"$out/unknown.json" 2>"$out/unknown.err" &
    pids+=($!)
    for f in "$WORK"/bad/*.json; do
        "$LOADGEN" "${common[@]}" --rate $((RATE / 10 + 1)) --payload-file "$f" \
            >"$out/bad_$(basename "$f")" 2>"$out/bad_$(basename "$f" .json).err" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    kill -0 "$ROUTER_PID" 2>/dev/null || die "the router exited during the soak; see $WORK/router.log"
    sent=$(sum_field sent "$out"/*.json)
    replies=$(sum_field replies "$out"/*.json)
    timeouts=$(sum_field timeouts "$out"/*.json)
    rss=$(rss_kb "$ROUTER_PID")
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    [ "$timeouts" -eq 0 ] || failures=$((failures + 1))
    total_sent=$((total_sent + sent))
    total_replies=$((total_replies + replies))
    printf '%8s %10s %6s %9s %9s %8s\n' $((SECONDS - start)) "$rss" "$(fd_count "$ROUTER_PID")" "$sent" "$replies" "$timeouts"
done
last_rss=$(rss_kb "$ROUTER_PID")
log "summary: rss first ${first_rss} kB, last ${last_rss} kB, max ${max_rss} kB; fds $(fd_count "$ROUTER_PID");" \
    "sent $total_sent, replies $total_replies; rounds with unanswered requests: $failures of $rounds"
[ "$failures" -eq 0 ] || die "some requests got no reply (see the timeouts column)"
