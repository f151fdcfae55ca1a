# shellcheck shell=bash
# Shared helpers for the project's scripts. Source it; do not run it.
# Every path is derived from the repository, never from a home directory.

BEAMLINE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$BEAMLINE_ROOT/build}"
ARTIFACTS_DIR="${ARTIFACTS_DIR:-$BEAMLINE_ROOT/_artifacts}"

SCRIPT_NAME="${0##*/}"
log()  { printf '[%s] %s\n' "$SCRIPT_NAME" "$*"; }
die()  { printf '[%s] error: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

# The nats-server binary: Debian installs it in /usr/sbin, which is not on every user's PATH.
nats_server_bin() {
    if [ -n "${NATS_SERVER_BIN:-}" ]; then echo "$NATS_SERVER_BIN"; return; fi
    command -v nats-server 2>/dev/null && return
    [ -x /usr/sbin/nats-server ] && { echo /usr/sbin/nats-server; return; }
    echo nats-server
}

router_bin() { echo "${BEAMLINE_ROUTER_BIN:-$BUILD_DIR/beamline_router}"; }

# usage_from_header: prints the script's leading comment block (the lines after the shebang that
# start with '#'), which is where every script documents itself.
usage_from_header() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; }

# only_help_argument ARGS...: the argument handling of a script that takes nothing but --help.
only_help_argument() {
    local arg
    for arg in "$@"; do
        case "$arg" in
            -h | --help) usage_from_header; exit 0 ;;
            *) die "unknown argument '$arg' (see --help)" ;;
        esac
    done
}

# seconds_setting NAME DEFAULT: the environment variable NAME (or DEFAULT) as a positive number
# of seconds; dies naming NAME otherwise.
seconds_setting() {
    local value="${!1:-$2}"
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive number of seconds, got '$value'"
    echo "$value"
}

# Where the managed nats-server lives: ports, directories and files, all overridable.
nats_settings() {
    NATS_HOST="${NATS_HOST:-127.0.0.1}"
    NATS_PORT="${NATS_PORT:-4222}"
    NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8222}"
    NATS_STORE_DIR="${NATS_STORE_DIR:-$ARTIFACTS_DIR/nats-store}"
    NATS_PID_FILE="${NATS_PID_FILE:-$ARTIFACTS_DIR/nats.pid}"
    NATS_LOG_FILE="${NATS_LOG_FILE:-$ARTIFACTS_DIR/nats.log}"
    CERTS_DIR="${CERTS_DIR:-$BEAMLINE_ROOT/certs}"
    local p
    for p in NATS_PORT NATS_MONITOR_PORT; do
        if ! [[ "${!p}" =~ ^[0-9]+$ ]] || [ "${!p}" -lt 1 ] || [ "${!p}" -gt 65535 ]; then
            die "$p must be a TCP port number (1-65535), got '${!p}'"
        fi
    done
}

# process_running PID: alive and not a zombie (an orphan whose reaper has not collected it yet).
process_running() {
    kill -0 "$1" 2> /dev/null || return 1
    local state
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2> /dev/null)
    [ "$state" != Z ] && [ "$state" != X ]
}

# stop_process PID SECONDS NAME: SIGTERM, a wait of up to SECONDS, then SIGKILL and a bounded wait.
stop_process() {
    kill -TERM "$1" 2> /dev/null || true
    local deadline=$((SECONDS + $2))
    while process_running "$1" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if process_running "$1"; then
        log "$3 (pid $1) still running after ${2}s; sending SIGKILL"
        kill -KILL "$1" 2> /dev/null || true
        for _ in $(seq 50); do process_running "$1" || break; sleep 0.1; done
    fi
}

# nats_managed_pid: prints the pid from the pidfile when that process is alive and is a
# nats-server; returns 1 otherwise (no pidfile, dead process, or a recycled pid).
nats_managed_pid() {
    [ -s "$NATS_PID_FILE" ] || return 1
    local pid
    pid=$(tr -dc '0-9' < "$NATS_PID_FILE")
    [ -n "$pid" ] && process_running "$pid" || return 1
    [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = nats-server ] || return 1
    echo "$pid"
}

# port_in_use PORT: true when something listens on the TCP port (any address).
port_in_use() {
    if command -v ss > /dev/null; then
        [ -n "$(ss -Htln "sport = :$1" 2> /dev/null)" ]
    else
        (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
    fi
}

# port_owner PORT: the listening process as ss reports it (needs privileges for other users).
port_owner() {
    command -v ss > /dev/null || return 0
    ss -Htlnp "sport = :$1" 2> /dev/null | grep -o 'users:(([^)]*))' | head -n 1 |
        sed -e 's/^users:((//' -e 's/))$//'
}

# http_get URL: the body on a 2xx answer; fails otherwise. curl when installed, else bash's /dev/tcp.
http_get() {
    if command -v curl > /dev/null; then
        curl -fsS --max-time 2 "$1" 2> /dev/null
        return
    fi
    local rest=${1#http://} host port path
    host=${rest%%/*}
    path=/${rest#*/}
    port=${host##*:}
    host=${host%:*}
    exec 3<> "/dev/tcp/$host/$port" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&3
    local response
    response=$(timeout 2 cat <&3)
    exec 3<&-
    [[ "$response" =~ ^HTTP/1\.[01]\ 2 ]] || return 1
    printf '%s\n' "${response#*$'\r\n\r\n'}"
}

# json_field NAME: a top-level scalar from the pretty-printed JSON on stdin (nats-server's /varz),
# without needing jq.
json_field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1; }

# json_fields PREFIX NAME...: like json_field for several names in one pass, as shell assignments
# PREFIX_NAME='value' to eval; values are limited to characters that are inert in the shell.
json_fields() {
    local prefix=$1 names
    shift
    names=$(IFS='|'; echo "$*")
    sed -n -E "s/^  \"($names)\": \"?([A-Za-z0-9 ._:\/+-]*)\"?,?\$/${prefix}_\1='\2'/p"
}

# echo_responder_bin: the libnats peer (tests/support/nats_echo_responder.c). Uses the build's copy
# when there is one, else compiles it into $ARTIFACTS_DIR/bin (again whenever the source is newer).
echo_responder_bin() {
    local src="$BEAMLINE_ROOT/tests/support/nats_echo_responder.c"
    local built="$BUILD_DIR/tests/nats_echo_responder"
    if [ -x "$built" ] && [ "$built" -nt "$src" ]; then echo "$built"; return; fi
    local bin="$ARTIFACTS_DIR/bin/nats_echo_responder"
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
        mkdir -p "$ARTIFACTS_DIR/bin"
        # shellcheck disable=SC2046 # pkg-config prints several flags
        "${CC:-cc}" -O2 -o "$bin.tmp.$$" "$src" $(pkg-config --cflags --libs libnats) >&2 || return 1
        mv -f "$bin.tmp.$$" "$bin"
    fi
    echo "$bin"
}
