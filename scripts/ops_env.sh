# shellcheck shell=bash
# The shell environment the operator documents work in (docs/OPERATIONS.md, docs/RUNBOOK.md,
# docs/TROUBLESHOOTING.md). Source it from the repository root:
#
#   . scripts/ops_env.sh
#
# scripts/run.sh sources it as well, so the router's own verbs (`beamline_router stop|status|ping|
# policy ...`) reach the daemon run.sh started. Variables already set in the environment win, so
# `NATS_PORT=14222 . scripts/ops_env.sh` moves everything.
#
#   BUILD_DIR (<repo>/build, and put first on PATH)  ARTIFACTS_DIR (<repo>/_artifacts)
#   CERTS_DIR (<repo>/certs)  POLICIES_DIR (<repo>/config/policies)
#   NATS_PORT (4222)  NATS_MONITOR_PORT (8222)  HTTP_LISTEN (0.0.0.0:8080)
#   BEAMLINE_NATS_URL, BEAMLINE_NATS_TLS_{CA,CERT,KEY}, BEAMLINE_HTTP_LISTEN,
#   BEAMLINE_ROUTER_POLICIES_DIR, BEAMLINE_ROUTER_PIDFILE, BEAMLINE_LOG_FILE   the daemon's settings
#   BEAMLINE_HTTP_ADMIN_TOKEN   the admin API's bearer token; when unset, read from (or first written to)
#                               $ARTIFACTS_DIR/admin.token, mode 0600
#   HTTP_URL      the router's HTTP base URL, e.g. http://127.0.0.1:8080
#   NATS_MONITOR  nats-server's monitoring base URL, e.g. http://127.0.0.1:8222
#   NATS_CONN     (array) connection options for `beamline_router nats ...`: server URL and mutual TLS

_ops_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BUILD_DIR="${BUILD_DIR:-$_ops_root/build}"
export ARTIFACTS_DIR="${ARTIFACTS_DIR:-$_ops_root/_artifacts}"
export CERTS_DIR="${CERTS_DIR:-$_ops_root/certs}"
export POLICIES_DIR="${POLICIES_DIR:-$_ops_root/config/policies}"
export NATS_PORT="${NATS_PORT:-4222}"
export NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8222}"
export HTTP_LISTEN="${HTTP_LISTEN:-0.0.0.0:8080}"
case ":$PATH:" in *":$BUILD_DIR:"*) ;; *) export PATH="$BUILD_DIR:$PATH" ;; esac

export BEAMLINE_NATS_URL="tls://127.0.0.1:$NATS_PORT"
export BEAMLINE_NATS_TLS_CA="$CERTS_DIR/ca.pem"
export BEAMLINE_NATS_TLS_CERT="$CERTS_DIR/client.pem"
export BEAMLINE_NATS_TLS_KEY="$CERTS_DIR/client-key.pem"
export BEAMLINE_HTTP_LISTEN="$HTTP_LISTEN"
export BEAMLINE_ROUTER_POLICIES_DIR="$POLICIES_DIR"
export BEAMLINE_ROUTER_PIDFILE="$ARTIFACTS_DIR/beamline_router.pid"
export BEAMLINE_LOG_FILE="$ARTIFACTS_DIR/beamline_router.log"

if [ -z "${BEAMLINE_HTTP_ADMIN_TOKEN:-}" ]; then
    mkdir -p "$ARTIFACTS_DIR"
    if [ ! -s "$ARTIFACTS_DIR/admin.token" ]; then
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$ARTIFACTS_DIR/admin.token")
    fi
    BEAMLINE_HTTP_ADMIN_TOKEN="$(cat "$ARTIFACTS_DIR/admin.token")"
    export BEAMLINE_HTTP_ADMIN_TOKEN
fi

_ops_http_host="${HTTP_LISTEN%:*}"
case "$_ops_http_host" in "" | 0.0.0.0 | "*") _ops_http_host=127.0.0.1 ;; esac
HTTP_URL="http://$_ops_http_host:${HTTP_LISTEN##*:}"
NATS_MONITOR="http://127.0.0.1:$NATS_MONITOR_PORT"
export BEAMLINE_NATS_MONITOR_URL="$NATS_MONITOR"
NATS_CONN=(--server "$BEAMLINE_NATS_URL" --tls-ca "$BEAMLINE_NATS_TLS_CA"
    --tls-cert "$BEAMLINE_NATS_TLS_CERT" --tls-key "$BEAMLINE_NATS_TLS_KEY")
unset _ops_root _ops_http_host
