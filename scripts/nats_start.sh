#!/usr/bin/env bash
# Starts a local nats-server with JetStream, in the background, and waits until it is healthy.
#
#   scripts/nats_start.sh [--tls]
#
#   --tls   mutual TLS with config/nats_tls.conf; certificates are generated into CERTS_DIR when
#           missing (scripts/generate_certs.sh). Clients then connect to tls://HOST:PORT.
#
# Idempotent: when the server it started is already running in the same mode it says so and exits 0.
# Exits 1 when a port is held by another process, or when the server is not healthy in time (the
# end of its log is printed).
#
# Environment (defaults):
#   NATS_HOST (127.0.0.1)  NATS_PORT (4222)  NATS_MONITOR_PORT (8222)
#   NATS_STORE_DIR ($ARTIFACTS_DIR/nats-store)  ARTIFACTS_DIR (<repo>/_artifacts)
#   NATS_PID_FILE ($ARTIFACTS_DIR/nats.pid)  NATS_LOG_FILE ($ARTIFACTS_DIR/nats.log)
#   NATS_START_TIMEOUT (10 seconds)  CERTS_DIR (<repo>/certs)  NATS_SERVER_BIN (nats-server)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tls=false
for arg in "$@"; do
    case "$arg" in
        --tls) tls=true ;;
        -h | --help) usage_from_header; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done

nats_settings
timeout_s=$(seconds_setting NATS_START_TIMEOUT 10)
bin=$(nats_server_bin)
command -v "$bin" > /dev/null || die "nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)"
monitor="http://$NATS_HOST:$NATS_MONITOR_PORT"
scheme=nats
$tls && scheme=tls

if pid=$(nats_managed_pid); then
    running_tls=false
    tr '\0' '\n' < "/proc/$pid/cmdline" | grep -q 'nats_tls\.conf$' && running_tls=true
    if [ "$running_tls" != "$tls" ]; then
        mode=plain
        $running_tls && mode="mutual TLS"
        die "nats-server is already running (pid $pid) in $mode mode; run scripts/nats_stop.sh first to switch"
    fi
    log "nats-server already running (pid $pid) on $scheme://$NATS_HOST:$NATS_PORT"
    exit 0
fi
if [ -e "$NATS_PID_FILE" ]; then
    log "removing stale pidfile $NATS_PID_FILE"
    rm -f "$NATS_PID_FILE"
fi

for port_var in NATS_PORT NATS_MONITOR_PORT; do
    port=${!port_var}
    if port_in_use "$port"; then
        owner=$(port_owner "$port")
        die "port $port ($port_var) is already in use${owner:+ by $owner}; stop that process or choose another $port_var"
    fi
done

args=(-a "$NATS_HOST" -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -js -sd "$NATS_STORE_DIR")
if $tls; then
    for f in ca.pem server.pem server-key.pem; do
        [ -s "$CERTS_DIR/$f" ] || { "$BEAMLINE_ROOT/scripts/generate_certs.sh"; break; }
    done
    export NATS_SERVER_TLS_CA="$CERTS_DIR/ca.pem"
    export NATS_SERVER_TLS_CERT="$CERTS_DIR/server.pem"
    export NATS_SERVER_TLS_KEY="$CERTS_DIR/server-key.pem"
    args+=(-c "$BEAMLINE_ROOT/config/nats_tls.conf")
fi

mkdir -p "$ARTIFACTS_DIR" "$NATS_STORE_DIR" "$(dirname "$NATS_PID_FILE")" "$(dirname "$NATS_LOG_FILE")"
printf '\n=== %s nats_start.sh%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$($tls && echo ' --tls')" >> "$NATS_LOG_FILE"
# setsid: the server outlives this shell and the caller's process group (Ctrl-C, CI job steps).
setsid "$bin" "${args[@]}" < /dev/null >> "$NATS_LOG_FILE" 2>&1 &
pid=$!
echo "$pid" > "$NATS_PID_FILE"

deadline=$((SECONDS + timeout_s))
while :; do
    if ! process_running "$pid"; then
        rm -f "$NATS_PID_FILE"
        log "nats-server exited during startup; last lines of $NATS_LOG_FILE:"
        tail -n 20 "$NATS_LOG_FILE" >&2
        exit 1
    fi
    if health=$(http_get "$monitor/healthz"); then
        break
    fi
    if [ $SECONDS -ge $deadline ]; then
        log "nats-server (pid $pid) not healthy on $monitor/healthz after ${timeout_s}s; stopping it"
        tail -n 20 "$NATS_LOG_FILE" >&2
        kill "$pid" 2> /dev/null || true
        rm -f "$NATS_PID_FILE"
        exit 1
    fi
    sleep 0.2
done

log "nats-server started (pid $pid): $health"
log "  clients:   $scheme://$NATS_HOST:$NATS_PORT$($tls && echo " (mutual TLS, certificates in $CERTS_DIR)")"
log "  monitor:   $monitor"
log "  jetstream: $NATS_STORE_DIR"
log "  log:       $NATS_LOG_FILE"
