#!/usr/bin/env bash
# Stops the nats-server started by scripts/nats_start.sh: SIGTERM, a bounded wait, then SIGKILL.
#
#   scripts/nats_stop.sh
#
# Idempotent: when it is not running (no pidfile, or a stale one) it says so and exits 0.
# Only the process named in the pidfile is signalled, and only if it is a nats-server.
# Environment: ARTIFACTS_DIR, NATS_PID_FILE, NATS_PORT, NATS_MONITOR_PORT,
# NATS_STOP_TIMEOUT (10 seconds before SIGKILL).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

only_help_argument "$@"

nats_settings
timeout_s=$(seconds_setting NATS_STOP_TIMEOUT 10)

if ! pid=$(nats_managed_pid); then
    if [ -e "$NATS_PID_FILE" ]; then
        log "nats-server not running; removing stale pidfile $NATS_PID_FILE"
        rm -f "$NATS_PID_FILE"
    else
        log "nats-server not running (no pidfile $NATS_PID_FILE)"
    fi
    exit 0
fi

log "stopping nats-server (pid $pid)"
stop_process "$pid" "$timeout_s" nats-server
rm -f "$NATS_PID_FILE"

for port in "$NATS_PORT" "$NATS_MONITOR_PORT"; do
    if port_in_use "$port"; then
        owner=$(port_owner "$port")
        log "warning: port $port is still in use${owner:+ by $owner}"
    fi
done
log "nats-server stopped"
