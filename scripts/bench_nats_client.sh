#!/usr/bin/env bash
# Compares the project's NATS client with libnats (the official C client) in the same run, over a
# nats-server started here on a free loopback port: publish throughput and request/reply latency.
#
#   scripts/bench_nats_client.sh [beamline_nats_bench options...]
#     e.g. --rounds 5 --msgs 1000000 --requests 10000 (see beamline_nats_bench --help)
#
# Prints the benchmark's table and writes its JSON line to _artifacts/nats_client_bench_<ts>.json.
# Environment: BEAMLINE_NATS_BENCH (default $BUILD_DIR/perf/beamline_nats_bench), NATS_SERVER_BIN.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH=${BEAMLINE_NATS_BENCH:-$BUILD_DIR/perf/beamline_nats_bench}
[ -x "$BENCH" ] || die "$BENCH is missing: cmake --build build --target beamline_nats_bench"
NATS_SERVER=$(nats_server_bin)
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "python3 is required"

PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$ARTIFACTS_DIR"
OUT_JSON="$ARTIFACTS_DIR/nats_client_bench_$STAMP.json"
SERVER_LOG=$(mktemp "${TMPDIR:-/tmp}/beamline-nats-bench.XXXXXX")

SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -f "$SERVER_LOG"
}
trap cleanup EXIT INT TERM

"$NATS_SERVER" -a 127.0.0.1 -p "$PORT" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    "$PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$PORT" \
        2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; die "nats-server did not start"; }
    sleep 0.1
done

log "nats-server on 127.0.0.1:$PORT; running $BENCH $*"
OUTPUT=$("$BENCH" --url "nats://127.0.0.1:$PORT" --server-pid "$SERVER_PID" "$@")
printf '%s\n' "$OUTPUT" | grep -v '^{"bench"'
printf '%s\n' "$OUTPUT" | grep '^{"bench"' >"$OUT_JSON" || die "the benchmark printed no JSON line"
log "wrote $OUT_JSON"
