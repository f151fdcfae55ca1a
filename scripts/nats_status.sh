#!/usr/bin/env bash
# Shows whether the local nats-server is up: pid, ports, TLS, version, connections, JetStream.
#
#   scripts/nats_status.sh
#
# Exits 0 when the server answers /healthz on the monitor port, 1 when it is down or unhealthy.
# A server started some other way is reported too (its pid is then unknown to these scripts).
# Environment: the same as scripts/nats_start.sh (NATS_HOST, NATS_PORT, NATS_MONITOR_PORT,
# ARTIFACTS_DIR, NATS_PID_FILE, NATS_LOG_FILE).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

only_help_argument "$@"

nats_settings
monitor="http://$NATS_HOST:$NATS_MONITOR_PORT"

pid=$(nats_managed_pid) || pid=""
health=$(http_get "$monitor/healthz") || health=""
if [ -z "$health" ]; then
    if [ -n "$pid" ]; then
        log "nats-server: UNHEALTHY (pid $pid runs, but $monitor/healthz does not answer)"
    elif [ -e "$NATS_PID_FILE" ]; then
        log "nats-server: DOWN (stale pidfile $NATS_PID_FILE)"
    else
        log "nats-server: DOWN (nothing answers on $monitor)"
    fi
    [ -s "$NATS_LOG_FILE" ] && { log "last lines of $NATS_LOG_FILE:"; tail -n 10 "$NATS_LOG_FILE"; }
    exit 1
fi

varz=$(http_get "$monitor/varz") || varz=""
varz_version="" varz_connections="" varz_uptime="" varz_tls_required="" varz_tls_verify="" varz_store_dir=""
eval "$(json_fields varz version connections uptime tls_required tls_verify <<< "$varz")"
eval "$(sed -n -E "s/^ +\"(store_dir)\": \"([A-Za-z0-9 ._:\/+-]*)\",?\$/varz_\1='\2'/p" <<< "$varz")"
tls=off
scheme=nats
if [ "$varz_tls_required" = true ]; then
    tls=on
    [ "$varz_tls_verify" = true ] && tls="on (mutual: client certificates verified)"
    scheme=tls
fi
jetstream=off
[ -n "$varz_store_dir" ] && jetstream="on ($varz_store_dir)"

log "nats-server: UP"
log "  pid:         ${pid:-unknown (not started by scripts/nats_start.sh)}"
log "  clients:     $scheme://$NATS_HOST:$NATS_PORT"
log "  monitor:     $monitor"
log "  tls:         $tls"
log "  version:     $varz_version"
log "  connections: $varz_connections"
log "  jetstream:   $jetstream"
log "  uptime:      $varz_uptime"
log "  healthz:     $health"
