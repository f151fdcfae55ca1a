# Shared helpers for the project's scripts. Source it; do not run it.
# Every path is derived from the repository, never from a home directory.

BEAMLINE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$BEAMLINE_ROOT/build}"
ARTIFACTS_DIR="${ARTIFACTS_DIR:-$BEAMLINE_ROOT/_artifacts}"

log()  { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
die()  { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# The nats-server binary: Debian installs it in /usr/sbin, which is not on every user's PATH.
nats_server_bin() {
    if [ -n "${NATS_SERVER_BIN:-}" ]; then echo "$NATS_SERVER_BIN"; return; fi
    command -v nats-server 2>/dev/null && return
    [ -x /usr/sbin/nats-server ] && { echo /usr/sbin/nats-server; return; }
    echo nats-server
}

router_bin() { echo "${BEAMLINE_ROUTER_BIN:-$BUILD_DIR/beamline_router}"; }
