#!/usr/bin/env bash
# Runs the service on this machine: nats-server with mutual TLS and beamline_router connected to it
# over TLS, then proves it answers. On a fresh Debian 12 it first installs the dependencies and
# builds (scripts/setup.sh) and generates certificates (scripts/generate_certs.sh).
#
#   scripts/run.sh           set up, start both, check health, send one sample decide request
#   scripts/run.sh stop      stop the router (graceful drain), then nats-server
#   scripts/run.sh status    the router's status and nats-server's
#
# Environment (defaults):
#   HTTP_LISTEN (0.0.0.0:8080)  NATS_PORT (4222)  NATS_MONITOR_PORT (8222)
#   POLICIES_DIR (<repo>/config/policies)  CERTS_DIR (<repo>/certs)  ARTIFACTS_DIR (<repo>/_artifacts)
# The router's log is $ARTIFACTS_DIR/beamline_router.log, its pidfile $ARTIFACTS_DIR/beamline_router.pid,
# its admin token $ARTIFACTS_DIR/admin.token (scripts/ops_env.sh sets all of it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd="${1:-start}"
case "$cmd" in
    start | stop | status) ;;
    -h | --help) usage_from_header; exit 0 ;;
    *) die "unknown command '$cmd' (start, stop or status; see --help)" ;;
esac

nats_settings
CERTS_DIR="${CERTS_DIR:-$BEAMLINE_ROOT/certs}"
HTTP_LISTEN="${HTTP_LISTEN:-0.0.0.0:8080}"
http_port="${HTTP_LISTEN##*:}"
router="$(router_bin)"

# The router's whole configuration, from the environment (see `beamline_router --help`), shared
# with the operator documents' shell so that `beamline_router stop|status|policy` reach this daemon.
. "$BEAMLINE_ROOT/scripts/ops_env.sh"

if [ "$cmd" = stop ]; then
    [ -x "$router" ] && "$router" stop || true
    "$BEAMLINE_ROOT/scripts/nats_stop.sh"
    exit 0
fi
if [ "$cmd" = status ]; then
    rc=0
    "$router" status || rc=$?
    "$BEAMLINE_ROOT/scripts/nats_status.sh" || rc=$?
    exit $rc
fi

mkdir -p "$ARTIFACTS_DIR"
"$BEAMLINE_ROOT/scripts/setup.sh"
"$BEAMLINE_ROOT/scripts/generate_certs.sh" --quiet
"$BEAMLINE_ROOT/scripts/nats_start.sh" --tls
"$router" start

log "waiting for http://127.0.0.1:$http_port/healthz"
for _ in $(seq 1 50); do
    "$router" ping > /dev/null 2>&1 && break
    sleep 0.2
done
"$router" ping || die "the router is not healthy; see $BEAMLINE_LOG_FILE"

cat <<INFO

beamline_router is running
  decide (NATS)   beamline.router.v1.decide on tls://127.0.0.1:$NATS_PORT (mutual TLS, certs in $CERTS_DIR)
  health          curl -s http://127.0.0.1:$http_port/healthz
  metrics         curl -s http://127.0.0.1:$http_port/metrics
  status          curl -s http://127.0.0.1:$http_port/v1/status
  log             $BEAMLINE_LOG_FILE
  stop            scripts/run.sh stop

A sample decide request, sent with the router's own NATS client over mutual TLS:
INFO
request='{"version":"1","request_id":"sample-1","tenant_id":"acme","policy_id":"premium","task":{"type":"text.generate","payload":{"prompt":"Summarise the attached report"}},"metadata":{"user_id":"u-42"}}'
echo "  beamline_router nats request beamline.router.v1.decide '$request' --server tls://127.0.0.1:$NATS_PORT --tls-ca $BEAMLINE_NATS_TLS_CA --tls-cert $BEAMLINE_NATS_TLS_CERT --tls-key $BEAMLINE_NATS_TLS_KEY"
echo
"$router" nats request beamline.router.v1.decide "$request" --server "tls://127.0.0.1:$NATS_PORT" \
    --tls-ca "$BEAMLINE_NATS_TLS_CA" --tls-cert "$BEAMLINE_NATS_TLS_CERT" --tls-key "$BEAMLINE_NATS_TLS_KEY" --timeout 5s
