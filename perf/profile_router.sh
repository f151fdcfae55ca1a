#!/usr/bin/env bash
# Profiles the router at closed-loop saturation (beamline_loadgen, 512 in flight, 1,000 tenants) on a
# nats-server of its own, next to the echo reference under the same load, and prints:
#   * the router's CPU profile by phase of the decide path (perf record, DWARF call graphs,
#     perf/profile_breakdown.py);
#   * on- and off-CPU time of each router thread (perf sched timehist): run time, time runnable but
#     waiting for a CPU (sched delay), time asleep, and how often each thread was switched in;
#   * the sizes of the writes (and reads) in which the router's and the echo's replies reach
#     nats-server (syscall exit tracepoints: the return values);
#   * throughput and CPU µs per reply of both, from the load generator.
#
#   perf/profile_router.sh [SECONDS]      profile SECONDS (default 8) of load
#
# Needs perf (Debian: linux-perf) and permission to use it (root, or perf_event_paranoid <= 1).
# Writes perf data and reports to _artifacts/profile_<timestamp>/. Environment: BEAMLINE_ROUTER_BIN,
# BEAMLINE_LOADGEN, BEAMLINE_ECHO, BENCH_INFLIGHT (512), BENCH_TENANTS (1000), BEAMLINE_ROUTER_THREADS.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

SECONDS_PROFILED=${1:-8}
[[ "$SECONDS_PROFILED" =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number (see --help)"
INFLIGHT=${BENCH_INFLIGHT:-512}
TENANTS=${BENCH_TENANTS:-1000}
LOADGEN=${BEAMLINE_LOADGEN:-$BUILD_DIR/perf/beamline_loadgen}
ECHO_BIN=${BEAMLINE_ECHO:-$BUILD_DIR/perf/beamline_echo}
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"
for bin in "$LOADGEN" "$ECHO_BIN" "$(router_bin)"; do [ -x "$bin" ] || die "$bin is missing; build it first"; done

OUT="$ARTIFACTS_DIR/profile_$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/beamline-profile.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PORT=$(free_port)
HTTP=$(free_port)
URL="nats://127.0.0.1:$PORT"
"$(nats_server_bin)" -a 127.0.0.1 -p "$PORT" >"$OUT/nats-server.log" 2>&1 &
NATS_PID=$!
PIDS+=("$NATS_PID")
"$PYTHON" "$BEAMLINE_ROOT/perf/make_policies.py" "$WORK/policies" "$TENANTS"
env BEAMLINE_NATS_URL="$URL" BEAMLINE_ROUTER_POLICIES_DIR="$WORK/policies" BEAMLINE_HTTP_LISTEN="127.0.0.1:$HTTP" \
    BEAMLINE_LOG_LEVEL=warn BEAMLINE_ROUTER_PIDFILE="$WORK/router.pid" "$(router_bin)" run >"$OUT/router.log" 2>&1 &
ROUTER_PID=$!
PIDS+=("$ROUTER_PID")
"$ECHO_BIN" --url "$URL" --subject beamline.bench.reference.v1.decide --queue beamline-router >"$OUT/echo.log" 2>&1 &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$HTTP/healthz" 2>/dev/null && break; sleep 0.1; done
"$LOADGEN" --url "$URL" --target router=beamline.router.v1.decide --target reference=beamline.bench.reference.v1.decide \
    --check-ok --wait-ready 30 --duration 0 || die "router or echo not answering; see $OUT/*.log"

# load TARGET SUBJECT SECONDS: closed loop in the background, its report in $OUT/load_TARGET.json
load() {
    "$LOADGEN" --url "$URL" --target "$1=$2" --check-ok --inflight "$INFLIGHT" --tenants "$TENANTS" --warmup 1 \
        --duration "$3" --cpu-pid "$1=$4" --cpu-pid nats="$NATS_PID" >"$OUT/load_$1.json" 2>>"$OUT/loadgen.log" &
    LOAD_PID=$!
    sleep 1.5
}

# write_sizes PID FILE: the sizes returned by the write and read syscalls of PID over 2 s
write_sizes() {
    perf record -q -o "$2" -p "$1" -e syscalls:sys_exit_sendmsg -e syscalls:sys_exit_sendto \
        -e syscalls:sys_exit_write -e syscalls:sys_exit_writev -e syscalls:sys_exit_recvfrom \
        -e syscalls:sys_exit_read -- sleep 2 2>/dev/null
    perf script -i "$2" -F event,trace 2>/dev/null | "$PYTHON" -c '
import collections, re, statistics, sys
sizes = collections.defaultdict(list)
for line in sys.stdin:
    m = re.search(r"sys_exit_(\w+):.*0x([0-9a-f]+)", line)
    if m:
        v = int(m.group(2), 16)
        sizes[m.group(1)].append(v if v < 1 << 40 else -1)
for name, values in sorted(sizes.items()):
    ok = sorted(v for v in values if v > 0)
    if ok:
        print(f"  {name:9} {len(values):6} calls over 2 s ({len(values) - len(ok)} returned nothing or EAGAIN); "
              f"bytes median {statistics.median(ok):,.0f}, mean {statistics.mean(ok):,.0f}, p90 {ok[len(ok) * 9 // 10]:,}")
'
}

summary() { # summary TARGET
    "$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1])); t = d["targets"][0]; cpu = d["cpu_us"]
def per(v):
    return v / d["cpu_window_s"] / (t["replies"] / d["duration_s"]) if v and t["replies"] else float("nan")
print("  %s: %s req/s, p50 %.0f us, p99 %.0f us; CPU us per reply: responder %.2f, nats-server %.2f, load generator %.2f"
      % (t["target"], format(round(t["throughput_rps"]), ","), t["latency_us"]["p50"], t["latency_us"]["p99"],
         per(cpu.get(t["target"])), per(cpu.get("nats")), per(cpu.get("loadgen"))))' "$OUT/load_$1.json"
}

log "CPU profile of the router ($SECONDS_PROFILED s)"
load router beamline.router.v1.decide $((SECONDS_PROFILED + 1)) "$ROUTER_PID"
perf record -q -o "$OUT/router_cpu.data" --call-graph dwarf,16384 -F 999 -p "$ROUTER_PID" -- sleep "$SECONDS_PROFILED" 2>/dev/null
wait "$LOAD_PID"
summary router | tee "$OUT/summary.txt"
perf script -i "$OUT/router_cpu.data" -F tid,period,ip,sym --no-inline 2>/dev/null |
    "$PYTHON" "$BEAMLINE_ROOT/perf/profile_breakdown.py" | tee -a "$OUT/summary.txt"

log "on- and off-CPU time per thread (perf sched, 2 s, router then echo)"
for target in router reference; do
    pid=$ROUTER_PID subject=beamline.router.v1.decide
    [ "$target" = reference ] && pid=$ECHO_PID subject=beamline.bench.reference.v1.decide
    load "$target" "$subject" 4 "$pid"
    perf sched record -q -o "$OUT/sched_$target.data" -- sleep 2 >/dev/null 2>&1
    wait "$LOAD_PID"
    summary "$target" | tee -a "$OUT/summary.txt"
    perf sched timehist -i "$OUT/sched_$target.data" -p "$pid" 2>/dev/null | awk 'NR > 3 {
        t = $3; wait[t] += $4; delay[t] += $5; run[t] += $6; n[t]++ }
        END { for (t in n) printf "  %-30s switched in %6d times; run %7.1f ms, runnable waiting %7.1f ms, asleep %7.1f ms (of 2 s)\n",
              t, n[t], run[t], delay[t], wait[t] }' | tee -a "$OUT/summary.txt"
done

log "write and read sizes towards nats-server (2 s each)"
for target in router reference; do
    pid=$ROUTER_PID subject=beamline.router.v1.decide
    [ "$target" = reference ] && pid=$ECHO_PID subject=beamline.bench.reference.v1.decide
    load "$target" "$subject" 3 "$pid"
    echo "  $target:" | tee -a "$OUT/summary.txt"
    write_sizes "$pid" "$OUT/syscalls_$target.data" | tee -a "$OUT/summary.txt"
    wait "$LOAD_PID"
    summary "$target" | tee -a "$OUT/summary.txt"
done
log "wrote $OUT (summary.txt; perf report -i $OUT/router_cpu.data for the whole profile)"
