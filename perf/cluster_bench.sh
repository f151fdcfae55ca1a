#!/usr/bin/env bash
# Decide throughput of 1, 2 and 3 routers on the 3-node nats-server cluster, side by side in one run.
#
#   perf/cluster_bench.sh [--tls] [--routers LIST] [--state LIST] [--idempotent] [--duration S]
#                         [--inflight N] [--check]
#     --tls          mutual TLS between every client and the cluster
#     --routers LIST router counts to measure, comma-separated (default 1,2,3; at most 3)
#     --state LIST   router.state values to measure, comma-separated: local, jetstream (default
#                    local); each one with every router count, side by side in one run. With
#                    jetstream the policies are seeded into KV by `beamline_router policy import`
#     --idempotent   every request carries an idempotency key of its own: with jetstream each one
#                    is a KV create before its reply (the figure that differs from local)
#     --duration S   measured seconds per router count (default 10), after --warmup (default 2)
#     --inflight N   requests in flight per load generator (default 256)
#     --check        exit 1 unless every request got an ok reply and every router served some
#     --url URLS     use these NATS servers (comma-separated; one or more nodes) instead of the
#                    cluster; router i gets the i-th (round robin), one load generator per URL
#
# The cluster is scripts/nats_cluster.sh's (NATS_CLUSTER_* ports): started here when it is not
# running, and then stopped at the end; a running one is used and left running. Router i is given
# node i's address (the pool grows with the servers the cluster announces), so the routers spread
# one per node. One load generator (build/perf/beamline_loadgen) per node drives it, each with
# --inflight requests outstanding: nats-server hands a queue-group message to a member on the
# publisher's own node first, so load from one node alone would reach only the routers there.
# Prints one line per router count: req/s (sum of the load generators), the worst p99, errors, and
# how many requests each router decided. On a 2-core machine three nodes, three routers and three
# load generators share the same cores: the figures show the cost of the cluster's hops, not
# scaling; say so when quoting them.
#
# Environment: BEAMLINE_LOADGEN, BEAMLINE_ROUTER_BIN, BENCH_TENANTS (100), BENCH_WARMUP (2),
# BENCH_KEEP_WORK=1 keeps the temporary directory (router logs, load generator output).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

# The routers here are configured by this script alone (see scripts/bench_router.sh for why).
while read -r var; do
    [ "$var" = BEAMLINE_ROUTER_BIN ] || unset "$var"
done < <(compgen -e | grep -E '^BEAMLINE_(NATS|ROUTER|HTTP|LOG)_')

TLS=false
COUNTS=1,2,3
STATES=local
IDEMPOTENT=()
DURATION=10
INFLIGHT=256
CHECK=false
URLS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tls) TLS=true ;;
        --routers) COUNTS=${2:?--routers needs a list}; shift ;;
        --state) STATES=${2:?--state needs a list}; shift ;;
        --idempotent) IDEMPOTENT=(--idempotent) ;;
        --duration) DURATION=${2:?--duration needs seconds}; shift ;;
        --inflight) INFLIGHT=${2:?--inflight needs a number}; shift ;;
        --check) CHECK=true ;;
        --url) URLS=${2:?--url needs server URLs}; shift ;;
        -h | --help) usage_from_header; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
[[ "$COUNTS" =~ ^[123](,[123])*$ ]] || die "--routers must list counts of 1 to 3, e.g. 1,2,3; got '$COUNTS'"
[[ "$STATES" =~ ^(local|jetstream)(,(local|jetstream))*$ ]] || die "--state must list local and/or jetstream, got '$STATES'"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive number of seconds, got '$DURATION'"
[[ "$INFLIGHT" =~ ^[1-9][0-9]*$ ]] || die "--inflight must be a positive number, got '$INFLIGHT'"
TENANTS=${BENCH_TENANTS:-100}
WARMUP=${BENCH_WARMUP:-2}
LOADGEN=${BEAMLINE_LOADGEN:-$BUILD_DIR/perf/beamline_loadgen}
ROUTER=$(router_bin)
for bin in "$LOADGEN" "$ROUTER"; do
    [ -x "$bin" ] || die "$bin is missing: cmake --build build --target beamline_loadgen beamline_router"
done
PYTHON=$(command -v /usr/bin/python3 || command -v python3) || die "python3 is required"
command -v curl > /dev/null || die "curl is required"

CLUSTER="$BEAMLINE_ROOT/scripts/nats_cluster.sh"
cluster_args=()
$TLS && cluster_args=(--tls)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/beamline-cluster-bench.XXXXXX")
STARTED_CLUSTER=false
ROUTER_PIDS=()

stop_routers() {
    local pid
    for pid in "${ROUTER_PIDS[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
    for pid in "${ROUTER_PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    ROUTER_PIDS=()
}
cleanup() {
    stop_routers
    $STARTED_CLUSTER && "$CLUSTER" stop > /dev/null
    if [ "${BENCH_KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$URLS" ]; then
    if ! "$CLUSTER" status > /dev/null 2>&1; then
        "$CLUSTER" start "${cluster_args[@]}" > "$WORK/cluster.log" 2>&1 ||
            { cat "$WORK/cluster.log" >&2; die "the cluster did not start"; }
        STARTED_CLUSTER=true
    fi
    URLS=$("$CLUSTER" url)
fi
IFS=, read -r -a NODE_URLS <<< "$URLS"
conn_tls=()
router_tls=()
if [[ "${NODE_URLS[0]}" == tls://* ]]; then
    certs=${CERTS_DIR:-$BEAMLINE_ROOT/certs}
    conn_tls=(--tls-ca "$certs/ca.pem" --tls-cert "$certs/client.pem" --tls-key "$certs/client-key.pem")
    router_tls=(BEAMLINE_NATS_TLS_CA="$certs/ca.pem" BEAMLINE_NATS_TLS_CERT="$certs/client.pem"
        BEAMLINE_NATS_TLS_KEY="$certs/client-key.pem")
fi
log "NATS: ${NODE_URLS[*]}"

# Policies t-0 .. t-(TENANTS-1)/default, the tenants the load generator names.
for ((t = 0; t < TENANTS; t++)); do
    mkdir -p "$WORK/policies/t-$t"
    printf '%s\n' '{"version":"1","providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}]}' \
        > "$WORK/policies/t-$t/default.json"
done

decided() { # decided PORT: the router's router_decide_requests_total over every outcome
    curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" 2> /dev/null |
        awk '/^router_decide_requests_total[{ ]/ {sum += $NF} END {printf "%d\n", sum}'
}

# Streams and buckets R3 when the routers are given the three nodes.
REPLICAS=1
[ "${#NODE_URLS[@]}" -ge 3 ] && REPLICAS=3
if [[ ",$STATES," == *,jetstream,* ]]; then
    env BEAMLINE_NATS_URL="$URLS" "${router_tls[@]}" BEAMLINE_JETSTREAM_REPLICAS="$REPLICAS" \
        "$ROUTER" policy import "$WORK/policies" > "$WORK/import.log" 2>&1 ||
        { cat "$WORK/import.log" >&2; die "policy import into KV failed"; }
fi

FAILED=false
printf '%-10s %-8s %12s %10s %8s  %s\n' state routers 'req/s' 'p99 (us)' errors 'decided per router'
for state in ${STATES//,/ }; do
for count in ${COUNTS//,/ }; do
    ports=()
    for ((i = 0; i < count; i++)); do
        port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        env BEAMLINE_NATS_URL="${NODE_URLS[i % ${#NODE_URLS[@]}]}" "${router_tls[@]}" BEAMLINE_NATS_NAME="bench-router-$i" \
            BEAMLINE_ROUTER_POLICIES_DIR="$WORK/policies" BEAMLINE_HTTP_LISTEN="127.0.0.1:$port" \
            BEAMLINE_LOG_LEVEL=warn BEAMLINE_ROUTER_PIDFILE="$WORK/router-$state-$count-$i.pid" \
            BEAMLINE_ROUTER_STATE="$state" BEAMLINE_JETSTREAM_REPLICAS="$REPLICAS" \
            "$ROUTER" run > "$WORK/router-$state-$count-$i.log" 2>&1 &
        ROUTER_PIDS+=($!)
        ports+=("$port")
    done
    for ((i = 0; i < count; i++)); do
        for _ in $(seq 300); do curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:${ports[i]}/healthz" 2> /dev/null && break; sleep 0.1; done
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:${ports[i]}/healthz" ||
            die "router $i of $count not healthy; see $WORK/router-$state-$count-$i.log"
    done
    "$LOADGEN" --url "${NODE_URLS[0]}" "${conn_tls[@]}" --check-ok --wait-ready 30 --duration 0 2>> "$WORK/loadgen.log" ||
        die "no ok reply from the routers; see $WORK/loadgen.log"
    before=()
    for port in "${ports[@]}"; do before+=("$(decided "$port")"); done
    gens=()
    for ((n = 0; n < ${#NODE_URLS[@]}; n++)); do
        "$LOADGEN" --url "${NODE_URLS[n]}" "${conn_tls[@]}" --check-ok "${IDEMPOTENT[@]}" --tenants "$TENANTS" --inflight "$INFLIGHT" \
            --duration "$DURATION" --warmup "$WARMUP" --label "node$((n + 1))" \
            > "$WORK/load-$state-$count-$n.json" 2>> "$WORK/loadgen.log" &
        gens+=($!)
    done
    for pid in "${gens[@]}"; do wait "$pid" || FAILED=true; done
    shares=()
    for ((i = 0; i < count; i++)); do
        share=$(($(decided "${ports[i]}") - before[i]))
        shares+=("$share")
        [ "$share" -gt 0 ] || { $CHECK && log "router $i of $count decided nothing"; FAILED=true; }
    done
    read -r rps p99 errors < <("$PYTHON" - "$WORK"/load-"$state"-"$count"-*.json << 'EOF'
import json, sys
rps = p99 = errors = 0
for path in sys.argv[1:]:
    try:
        targets = json.load(open(path))["targets"]
    except (OSError, ValueError, KeyError):
        errors += 1
        continue
    for t in targets:
        rps += t["throughput_rps"]
        p99 = max(p99, t["latency_us"]["p99"])
        errors += t["errors"]
print(f"{rps:.0f} {p99:.0f} {errors}")
EOF
    )
    [ "$errors" = 0 ] || FAILED=true
    printf '%-10s %-8s %12s %10s %8s  %s\n' "$state" "$count" "$rps" "$p99" "$errors" "${shares[*]}"
    stop_routers
done
done
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); nats-server $("$(nats_server_bin)" --version 2>/dev/null | awk '{print $2}')"
if $CHECK && $FAILED; then
    log "FAILED: an error, a failed load generator or an idle router (logs in $WORK; BENCH_KEEP_WORK=1 keeps them)"
    exit 1
fi
exit 0
