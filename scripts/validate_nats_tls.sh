#!/usr/bin/env bash
# Proves that the local nats-server enforces mutual TLS, and prints PASS/FAIL per check.
#
#   scripts/validate_nats_tls.sh [--keep-running]
#
# Generates certificates when missing (with a second, unrelated CA), starts nats-server with
# --tls unless it already runs that way, then checks:
#   1. the server advertises TLS required and client certificate verification (/varz);
#   2. a client with the client certificate connects (PING/PONG);
#   3. a request over mutual TLS gets its reply from an echo responder: through
#      `beamline_router nats request` when the binary has that verb, else through the libnats peer;
#   4. a client without a certificate is refused;
#   5. a client certificate from another CA is refused.
# The clients are beamline_router and tests/support/nats_echo_responder.c (libnats), which is
# compiled into $ARTIFACTS_DIR/bin when the build has not made it. openssl s_client cannot be
# used: nats-server 2.9 sends its INFO line in plain text before the TLS handshake.
# A server this script started is stopped at the end unless --keep-running is given.
# Exits 0 when every check passed, 1 otherwise.
# Environment: as scripts/nats_start.sh (NATS_PORT, NATS_MONITOR_PORT, CERTS_DIR, ...),
# BEAMLINE_ROUTER_BIN, BUILD_DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

keep=false
for arg in "$@"; do
    case "$arg" in
        --keep-running) keep=true ;;
        -h | --help) usage_from_header; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done

nats_settings
"$BEAMLINE_ROOT/scripts/generate_certs.sh" --other-ca --quiet
responder=$(echo_responder_bin) || die "cannot build the libnats echo responder (needs cc, pkg-config, libnats-dev)"

started=false
work=$(mktemp -d)
responder_pid=""
cleanup() {
    [ -n "$responder_pid" ] && kill "$responder_pid" 2> /dev/null
    rm -rf "$work"
    if $started && ! $keep; then "$BEAMLINE_ROOT/scripts/nats_stop.sh" > /dev/null || true; fi
}
trap cleanup EXIT

if ! nats_managed_pid > /dev/null; then
    "$BEAMLINE_ROOT/scripts/nats_start.sh" --tls > /dev/null || die "nats-server did not start with --tls"
    started=true
else
    "$BEAMLINE_ROOT/scripts/nats_start.sh" --tls > /dev/null
fi

url="tls://$NATS_HOST:$NATS_PORT"
ca=(--ca "$CERTS_DIR/ca.pem" --hostname localhost)
client=(--cert "$CERTS_DIR/client.pem" --key "$CERTS_DIR/client-key.pem")
other=(--cert "$CERTS_DIR/other/client.pem" --key "$CERTS_DIR/other/client-key.pem")
failures=0

# check NAME COMMAND...: PASS when COMMAND succeeds; its output is shown on FAIL.
check() {
    local name=$1
    shift
    if "$@" > "$work/out" 2>&1; then
        printf 'PASS  %s\n' "$name"
    else
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$work/out"
        failures=$((failures + 1))
    fi
}
refused() { ! "$@"; }

server_requires_mutual_tls() {
    local varz
    varz=$(http_get "http://$NATS_HOST:$NATS_MONITOR_PORT/varz") || { echo "no /varz"; return 1; }
    printf 'tls_required=%s tls_verify=%s\n' "$(json_field tls_required <<< "$varz")" \
        "$(json_field tls_verify <<< "$varz")"
    [ "$(json_field tls_required <<< "$varz")" = true ] && [ "$(json_field tls_verify <<< "$varz")" = true ]
}

router=$(router_bin)
router_has_request() { [ -x "$router" ] && "$router" nats request --help > /dev/null 2>&1; }

request_with_reply() {
    local subject="beamline.validate.tls.$$" body="mutual-tls-$$"
    "$responder" --server "$url" "${ca[@]}" "${client[@]}" --subject "$subject" --count 1 \
        --timeout-ms 10000 > "$work/responder" 2>&1 &
    responder_pid=$!
    for _ in $(seq 50); do
        grep -q ready "$work/responder" && break
        process_running "$responder_pid" || break
        sleep 0.1
    done
    grep -q ready "$work/responder" || { cat "$work/responder"; return 1; }
    local reply
    if router_has_request; then
        reply=$("$router" nats request "$subject" "$body" --server "$url" --tls-ca "$CERTS_DIR/ca.pem" \
            --tls-cert "$CERTS_DIR/client.pem" --tls-key "$CERTS_DIR/client-key.pem" --timeout 2s) ||
            { echo "$reply"; return 1; }
    else
        reply=$("$responder" --server "$url" "${ca[@]}" "${client[@]}" --subject "$subject" \
            --request "$body" --timeout-ms 2000) || { echo "$reply"; return 1; }
    fi
    echo "reply: $reply"
    wait "$responder_pid" || return 1
    responder_pid=""
    grep -qF "$body" <<< "$reply"
}

log "validating mutual TLS on $url (certificates in $CERTS_DIR)"
if router_has_request; then
    request_client="beamline_router nats request"
else
    request_client="the libnats peer"
    log "$router has no 'nats request' verb yet; the request check uses the libnats peer instead"
fi
check "server requires TLS and verifies client certificates" server_requires_mutual_tls
check "client with a certificate from our CA connects (PING/PONG)" \
    "$responder" --server "$url" "${ca[@]}" "${client[@]}" --ping
check "request over mutual TLS gets the echo reply ($request_client)" request_with_reply
check "client without a certificate is refused" \
    refused "$responder" --server "$url" "${ca[@]}" --ping
if router_has_request; then
    check "beamline_router nats request without a certificate is refused" \
        refused "$router" nats request beamline.validate.tls.none x --server "$url" \
        --tls-ca "$CERTS_DIR/ca.pem" --timeout 2s
fi
check "client certificate from another CA is refused" \
    refused "$responder" --server "$url" "${ca[@]}" "${other[@]}" --ping

if [ "$failures" -eq 0 ]; then
    log "mutual TLS validated: all checks passed"
else
    log "mutual TLS validation FAILED: $failures check(s) failed"
    exit 1
fi
