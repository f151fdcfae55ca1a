#!/usr/bin/env bash
# Runs a 3-node nats-server cluster with JetStream on loopback, in the background.
#
#   scripts/nats_cluster.sh start|stop|status|url [--tls] [--node N]
#
#   start    starts every node that is not running, then waits until all three answer /healthz
#            (on 2.9 that includes contact with a JetStream meta leader), each has routes to the
#            other two (/routez num_routes) and /jsz names a meta leader. Idempotent: nodes already
#            running are kept (in the mode they run in; a different mode is an error).
#   stop     SIGTERM, a bounded wait, then SIGKILL, for each node this script started. Idempotent.
#   status   one line per node (ports, pid, routes, JetStream); exit 1 when any node is down.
#   url      prints the router's nats.url value listing the three nodes, and nothing else.
#   --tls    mutual TLS for clients, like scripts/nats_start.sh --tls (certificates from
#            scripts/generate_certs.sh, generated when missing). The routes between the nodes stay
#            plain TCP on loopback: the generated server certificate is for serverAuth only, and
#            route TLS needs one that also authenticates as a client.
#   --node N start or stop only node N (1, 2 or 3), e.g. to bring back a node that was lost.
#
# Node N (1..3) listens for clients on NATS_CLUSTER_PORT+N-1, for routes on
# NATS_CLUSTER_ROUTE_PORT+N-1 and serves monitoring on NATS_CLUSTER_MONITOR_PORT+N-1. Its
# configuration, JetStream store, pid file and log live in $NATS_CLUSTER_DIR/nodeN/.
# Exits 1 when a port is held by another process, or when a node is not ready in time (the node is
# named, with the end of its log).
#
# Environment (defaults):
#   NATS_CLUSTER_PORT (14222)  NATS_CLUSTER_ROUTE_PORT (16222)  NATS_CLUSTER_MONITOR_PORT (18222)
#   NATS_CLUSTER_NAME (beamline)  NATS_CLUSTER_DIR ($ARTIFACTS_DIR/nats-cluster)
#   NATS_CLUSTER_START_TIMEOUT (30 seconds)  NATS_CLUSTER_STOP_TIMEOUT (10 seconds)
#   ARTIFACTS_DIR (<repo>/_artifacts)  CERTS_DIR (<repo>/certs)  NATS_SERVER_BIN (nats-server)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command=""
tls=false
only_node=""
while [ $# -gt 0 ]; do
    case "$1" in
        start | stop | status | url) [ -z "$command" ] || die "one command at a time (see --help)"; command=$1 ;;
        --tls) tls=true ;;
        --node)
            [ $# -ge 2 ] || die "--node needs a node number (1, 2 or 3)"
            only_node=$2
            shift
            ;;
        -h | --help) usage_from_header; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
[ -n "$command" ] || die "no command given: start, stop, status or url (see --help)"
[ -z "$only_node" ] || [[ "$only_node" =~ ^[123]$ ]] || die "--node must be 1, 2 or 3, got '$only_node'"

CLUSTER_HOST=127.0.0.1
NATS_CLUSTER_PORT="${NATS_CLUSTER_PORT:-14222}"
NATS_CLUSTER_ROUTE_PORT="${NATS_CLUSTER_ROUTE_PORT:-16222}"
NATS_CLUSTER_MONITOR_PORT="${NATS_CLUSTER_MONITOR_PORT:-18222}"
NATS_CLUSTER_NAME="${NATS_CLUSTER_NAME:-beamline}"
NATS_CLUSTER_DIR="${NATS_CLUSTER_DIR:-$ARTIFACTS_DIR/nats-cluster}"
CERTS_DIR="${CERTS_DIR:-$BEAMLINE_ROOT/certs}"
for base in NATS_CLUSTER_PORT NATS_CLUSTER_ROUTE_PORT NATS_CLUSTER_MONITOR_PORT; do
    if ! [[ "${!base}" =~ ^[0-9]+$ ]] || [ "${!base}" -lt 1 ] || [ "${!base}" -gt 65533 ]; then
        die "$base must be a TCP port number (1-65533: the nodes use it, +1 and +2), got '${!base}'"
    fi
done
[[ "$NATS_CLUSTER_NAME" =~ ^[A-Za-z0-9_-]+$ ]] ||
    die "NATS_CLUSTER_NAME must be letters, digits, '-' or '_', got '$NATS_CLUSTER_NAME'"

NODES=(1 2 3)
[ -n "$only_node" ] && SELECTED=("$only_node") || SELECTED=("${NODES[@]}")

client_port() { echo $((NATS_CLUSTER_PORT + $1 - 1)); }
route_port() { echo $((NATS_CLUSTER_ROUTE_PORT + $1 - 1)); }
monitor_port() { echo $((NATS_CLUSTER_MONITOR_PORT + $1 - 1)); }
node_dir() { echo "$NATS_CLUSTER_DIR/node$1"; }
node_pid_file() { echo "$(node_dir "$1")/nats-server.pid"; }
node_log() { echo "$(node_dir "$1")/nats-server.log"; }
node_conf() { echo "$(node_dir "$1")/nats-server.conf"; }
monitor_url() { echo "http://$CLUSTER_HOST:$(monitor_port "$1")"; }
# The pid of node N when it runs (the pidfile names a live nats-server); fails otherwise.
node_pid() { NATS_PID_FILE=$(node_pid_file "$1") nats_managed_pid; }
# Whether the running node N was started with client TLS (its configuration has a tls block).
node_runs_tls() { grep -q '^tls {' "$(node_conf "$1")" 2> /dev/null; }

cluster_url() { # the router's nats.url: the three client addresses, comma-separated
    local scheme=nats urls=() n
    $1 && scheme=tls
    for n in "${NODES[@]}"; do urls+=("$scheme://$CLUSTER_HOST:$(client_port "$n")"); done
    (IFS=,; echo "${urls[*]}")
}

wait_routes_to_earlier() { # wait_routes_to_earlier N: up to 10 s for node N's routes to the running nodes
    local n=$1 m want=0 have i
    for m in "${NODES[@]}"; do
        [ "$m" = "$n" ] && continue
        node_pid "$m" > /dev/null && want=$((want + 1))
    done
    for i in $(seq 100); do
        have=$(http_get "$(monitor_url "$n")/routez" 2> /dev/null | json_field num_routes) || have=""
        [ -n "$have" ] && [ "$have" -ge "$want" ] && return 0
        sleep 0.1
    done
    return 0 # the readiness wait below decides and names what is missing
}

write_node_config() { # write_node_config N: listen addresses, JetStream store, cluster routes, TLS
    local n=$1 dir routes=() m
    dir=$(node_dir "$n")
    # Each node dials only the nodes numbered below it: two ends never dial each other, so
    # nats-server 2.9 never has a duplicate route to resolve (it could close both and dial neither
    # again). Every pair still has exactly one dialler that retries forever, so a lost node is
    # rejoined whichever it is. Node 1 lists only itself (skipped when dialling): a JetStream
    # cluster refuses to start without configured routes.
    for m in "${NODES[@]}"; do
        [ "$m" -lt "$n" ] || { [ "$n" = 1 ] && [ "$m" = 1 ]; } || continue
        routes+=("nats-route://$CLUSTER_HOST:$(route_port "$m")")
    done
    mkdir -p "$dir/store"
    {
        echo "# Written by scripts/nats_cluster.sh start; rewritten on every start of this node."
        echo "server_name: \"$NATS_CLUSTER_NAME-node$n\""
        echo "listen: \"$CLUSTER_HOST:$(client_port "$n")\""
        echo "http: \"$CLUSTER_HOST:$(monitor_port "$n")\""
        echo "jetstream {"
        echo "  store_dir: \"$dir/store\""
        echo "}"
        echo "cluster {"
        echo "  name: \"$NATS_CLUSTER_NAME\""
        echo "  listen: \"$CLUSTER_HOST:$(route_port "$n")\""
        echo "  routes: [$(IFS=,; echo "${routes[*]}")]"
        echo "}"
        if $tls; then
            echo "tls {"
            echo "  ca_file: \"$CERTS_DIR/ca.pem\""
            echo "  cert_file: \"$CERTS_DIR/server.pem\""
            echo "  key_file: \"$CERTS_DIR/server-key.pem\""
            echo "  verify: true"
            echo "  timeout: 2"
            echo "}"
        fi
    } > "$(node_conf "$n")"
}

# node_readiness N: prints what node N still lacks ("" when it is ready): /healthz, both routes, a
# JetStream meta leader.
node_readiness() {
    local monitor health routes leader
    monitor=$(monitor_url "$1")
    health=$(curl -sS --max-time 2 "$monitor/healthz" 2>&1) || { echo "no answer on $monitor/healthz"; return; }
    grep -q '"status":"ok"' <<< "$health" || { echo "/healthz: $health"; return; }
    routes=$(http_get "$monitor/routez" | json_field num_routes)
    [ "${routes:-0}" -ge 2 ] || { echo "routes ${routes:-0}/2 on $monitor/routez"; return; }
    leader=$(http_get "$monitor/jsz" | sed -n 's/^    "leader": "\(.*\)",\{0,1\}$/\1/p' | head -n 1)
    [ -n "$leader" ] || { echo "no JetStream meta leader on $monitor/jsz"; return; }
}

held_ports() { # held_ports N: a line for each of node N's ports that something listens on
    local var port owner
    for var in client_port route_port monitor_port; do
        port=$($var "$1")
        if port_in_use "$port"; then
            owner=$(port_owner "$port")
            echo "port $port (${var%_port} port) is in use${owner:+ by $owner}"
        fi
    done
}

# stop_node N [spawned]: SIGTERM, a bounded wait, SIGKILL; idempotent. "spawned": the node was
# started by this run, and its process may not be named nats-server yet.
stop_node() {
    local n=$1 pid pid_file
    pid_file=$(node_pid_file "$n")
    if [ "${2:-}" = spawned ]; then
        pid=$(tr -dc '0-9' 2> /dev/null < "$pid_file")
        process_running "$pid" || pid=""
    else
        pid=$(node_pid "$n") || pid=""
    fi
    if [ -z "$pid" ]; then
        [ -e "$pid_file" ] && { log "node $n: not running; removing stale pidfile"; rm -f "$pid_file"; return; }
        log "node $n: not running"
        return
    fi
    stop_process "$pid" "$stop_timeout" "node $n"
    rm -f "$pid_file"
    log "node $n: stopped (pid $pid)"
}

command_start() {
    local bin n conflict started=()
    bin=$(nats_server_bin)
    command -v "$bin" > /dev/null || die "nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)"
    local timeout_s
    timeout_s=$(seconds_setting NATS_CLUSTER_START_TIMEOUT 30)
    if $tls; then
        for f in ca.pem server.pem server-key.pem; do
            [ -s "$CERTS_DIR/$f" ] || { "$BEAMLINE_ROOT/scripts/generate_certs.sh"; break; }
        done
    fi
    for n in "${SELECTED[@]}"; do
        if pid=$(node_pid "$n"); then
            local running_tls=false
            node_runs_tls "$n" && running_tls=true
            [ "$running_tls" = "$tls" ] ||
                die "node $n is already running (pid $pid) $($running_tls && echo with || echo without) TLS; run '$0 stop' first to switch"
            log "node $n: already running (pid $pid)"
            continue
        fi
        conflict=$(held_ports "$n" | head -n 1)
        [ -z "$conflict" ] || die "node $n: $conflict; stop that process or move NATS_CLUSTER_*PORT"
        write_node_config "$n"
        printf '\n=== %s nats_cluster.sh start%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$($tls && echo ' --tls')" >> "$(node_log "$n")"
        # setsid: the node outlives this shell and the caller's process group (Ctrl-C, CI steps).
        setsid "$bin" -c "$(node_conf "$n")" < /dev/null >> "$(node_log "$n")" 2>&1 &
        echo $! > "$(node_pid_file "$n")"
        started+=("$n")
        # One node at a time: a node started while its peers still dial it can lose a route to
        # nats-server 2.9's duplicate-route resolution when both ends connect at the same instant,
        # and a lost explicit route is not dialled again. Waiting until this node answers and has
        # its routes to the nodes already up keeps the two ends from racing.
        wait_routes_to_earlier "$n"
    done

    # A node needs its peers for routes and a meta leader, so every node of the cluster is waited
    # for, not only the ones started here.
    local deadline=$((SECONDS + timeout_s)) lacking="" lacking_node=""
    while :; do
        lacking=""
        for n in "${NODES[@]}"; do
            # Just spawned, the process may not be named nats-server yet: its pid is what counts.
            if ! process_running "$(tr -dc '0-9' 2> /dev/null < "$(node_pid_file "$n")")"; then
                lacking="node $n: not running (scripts/nats_cluster.sh start starts it)" lacking_node=$n
                if [[ " ${started[*]} " == *" $n "* ]]; then
                    log "node $n exited during startup; last lines of $(node_log "$n"):"
                    tail -n 20 "$(node_log "$n")" >&2
                    for m in "${started[@]}"; do stop_node "$m" spawned > /dev/null; done
                    exit 1
                fi
                break
            fi
            why=$(node_readiness "$n")
            [ -z "$why" ] || { lacking="node $n (client port $(client_port "$n")): $why" lacking_node=$n; break; }
        done
        [ -z "$lacking" ] && break
        if [ $SECONDS -ge $deadline ]; then
            log "cluster not ready after ${timeout_s}s: $lacking"
            if [ -s "$(node_log "$lacking_node")" ]; then
                log "last lines of $(node_log "$lacking_node"):"
                tail -n 10 "$(node_log "$lacking_node")"
            fi
            [ ${#started[@]} -gt 0 ] && log "stopping the nodes started now: ${started[*]}"
            for n in "${started[@]}"; do stop_node "$n" spawned > /dev/null; done
            exit 1
        fi
        sleep 0.2
    done
    if [ ${#started[@]} -eq 0 ]; then
        log "cluster already running"
    else
        log "cluster '$NATS_CLUSTER_NAME' ready (started node(s) ${started[*]})"
    fi
    print_nodes
}

print_nodes() { # one line per node; returns 1 when any is down or not ready
    local n pid routes leader down=0 mode_tls=false
    for n in "${NODES[@]}"; do
        pid=$(node_pid "$n") || pid=""
        local where
        where="client $(client_port "$n")  route $(route_port "$n")  monitor $(monitor_port "$n")"
        if [ -z "$pid" ]; then
            log "  node $n: DOWN   $where"
            down=1
            continue
        fi
        node_runs_tls "$n" && mode_tls=true
        routes=$(http_get "$(monitor_url "$n")/routez" | json_field num_routes) || routes=""
        leader=$(http_get "$(monitor_url "$n")/jsz" | sed -n 's/^    "leader": "\(.*\)",\{0,1\}$/\1/p' | head -n 1) || leader=""
        why=$(node_readiness "$n")
        local state=UP
        [ -n "$why" ] && { state=UNREADY; down=1; }
        log "  node $n: $state  $where  pid $pid  routes ${routes:-?}/2  jetstream meta leader ${leader:-none}${why:+  ($why)}"
    done
    log "  state:    $NATS_CLUSTER_DIR"
    log "  nats.url: $(cluster_url $mode_tls)$($mode_tls && echo "  (mutual TLS, certificates in $CERTS_DIR)")"
    return $down
}

stop_timeout=$(seconds_setting NATS_CLUSTER_STOP_TIMEOUT 10)
case "$command" in
    start) command_start ;;
    stop)
        for n in "${SELECTED[@]}"; do stop_node "$n"; done
        for n in "${SELECTED[@]}"; do
            held_ports "$n" | while read -r held; do log "warning: node $n: $held"; done
        done
        ;;
    status)
        log "nats cluster '$NATS_CLUSTER_NAME':"
        print_nodes || { log "cluster: DEGRADED (a node is down or not ready)"; exit 1; }
        log "cluster: UP"
        ;;
    url)
        # The mode of the running cluster when it runs, else the one asked for.
        for n in "${NODES[@]}"; do node_pid "$n" > /dev/null && node_runs_tls "$n" && tls=true; done
        cluster_url $tls
        ;;
esac
