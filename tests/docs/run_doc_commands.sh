#!/usr/bin/env bash
# Runs every ```bash block of the operator documents, so that every command they show is real.
#
#   tests/docs/run_doc_commands.sh [DOC.md ...]
#
# Default documents: docs/OPERATIONS.md, docs/RUNBOOK.md, docs/TROUBLESHOOTING.md (all required),
# then README.md. Blocks fenced ```text (live-incident commands) and any other fence are not run.
#
# Each document gets its own sandbox: a temporary ARTIFACTS_DIR, CERTS_DIR, TMPDIR and POLICIES_DIR
# (a copy of config/policies), and free ports exported as NATS_PORT, NATS_MONITOR_PORT and
# HTTP_LISTEN, and NATS_CLUSTER_PORT, NATS_CLUSTER_ROUTE_PORT, NATS_CLUSTER_MONITOR_PORT (each the
# first of three free ports, for scripts/nats_cluster.sh). Its blocks run in order, each in a
# fresh `bash -eo pipefail` from the repository root after `. scripts/ops_env.sh` (the preamble the
# documents tell the operator to source), each within DOC_BLOCK_TIMEOUT seconds. The first failing
# block stops the run: its document, line, first line, exit status and output are printed, and the
# script exits 1. After each document every process it started is stopped (scripts/run.sh stop,
# scripts/nats_stop.sh, scripts/nats_cluster.sh stop, then anything still carrying the sandbox's
# marker in its environment).
#
# The sandbox shortens the benchmark through its documented knobs (BENCH_ROUNDS, BENCH_DURATION,
# ...) and judges it with a smoke policy (complete run, no router errors, bounded RSS): a verdict on
# a one-second run measures the machine's noise, and perf_gate_verdicts tests the real verdicts.
#
# The operator documents are also linted: no home directories, no shell fence other than bash or
# text, at most DOC_MAX_TEXT_BLOCKS text blocks, and the first bash block sources the preamble.
#
# Environment: BUILD_DIR (<repo>/build), DOC_BLOCK_TIMEOUT (60), DOC_MAX_TEXT_BLOCKS (12),
# DOCS_KEEP_SANDBOX=1 keeps the sandbox for inspection.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BLOCK_TIMEOUT="${DOC_BLOCK_TIMEOUT:-60}"
MAX_TEXT_BLOCKS="${DOC_MAX_TEXT_BLOCKS:-12}"
OPS_DOCS=(docs/OPERATIONS.md docs/RUNBOOK.md docs/TROUBLESHOOTING.md)

say() { printf '[run_doc_commands] %s\n' "$*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

case "${1:-}" in -h | --help) sed -n '2,/^set -uo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac

if [ $# -gt 0 ]; then
    DOCS=("$@")
else
    DOCS=("${OPS_DOCS[@]}")
    [ -f "$ROOT/README.md" ] && DOCS+=(README.md)
fi

[ -x "$BUILD_DIR/beamline_router" ] || fail "$BUILD_DIR/beamline_router is not built (BUILD_DIR=$BUILD_DIR)"
PYTHON=$(command -v /usr/bin/python3 || command -v python3) || fail "python3 is required"

SANDBOX=$(mktemp -d "${TMPDIR:-/tmp}/beamline-docs.XXXXXX")
# Not BEAMLINE_*: the router reads every BEAMLINE_<SECTION>_<KEY> variable as configuration.
MARKER="DOCS_SANDBOX_ID=$SANDBOX"
CURRENT_ENV=""

# Stops whatever the current document started: the router and nats-server through the project's own
# scripts, then any process still carrying this sandbox's marker (background subscribers, a server a
# timed-out block left behind).
stop_started() {
    [ -n "$CURRENT_ENV" ] || return 0
    local t0=$SECONDS
    env -i bash -c 'set -a; . "$1"; cd "$2" && . scripts/ops_env.sh && scripts/run.sh stop' \
        _ "$CURRENT_ENV" "$ROOT" > /dev/null 2>&1 || true
    env -i bash -c 'set -a; . "$1"; cd "$2" && scripts/nats_stop.sh' _ "$CURRENT_ENV" "$ROOT" \
        > /dev/null 2>&1 || true
    env -i bash -c 'set -a; . "$1"; cd "$2" && scripts/nats_cluster.sh stop' _ "$CURRENT_ENV" "$ROOT" \
        > /dev/null 2>&1 || true
    local pids attempt
    for attempt in 1 2 3 4 5; do
        mapfile -t pids < <(grep -lzxF "$MARKER" /proc/[0-9]*/environ 2> /dev/null |
            sed -e 's#^/proc/##' -e 's#/environ$##' | grep -vx "$$")
        [ ${#pids[@]} -eq 0 ] && break
        if [ "$attempt" -lt 5 ]; then kill -TERM "${pids[@]}" 2> /dev/null; else kill -KILL "${pids[@]}" 2> /dev/null; fi
        sleep 0.5
    done
    say "stopped what the document started ($((SECONDS - t0))s)"
    CURRENT_ENV=""
}
cleanup() {
    stop_started
    if [ "${DOCS_KEEP_SANDBOX:-0}" = 1 ]; then say "sandbox kept: $SANDBOX"; else rm -rf "$SANDBOX"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sandbox's ports are chosen now and bound later, by whichever block starts the service. A port
# from the kernel's ephemeral range (what bind(0) hands out) can be taken meanwhile by any outgoing
# connection of a test running beside this one, so they come from below that range.
# free_port_run N: the first of N consecutive free ports (a cluster's nodes use PORT, +1, +2).
free_port_run() {
    "$PYTHON" - "${1:-1}" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
top = low if low > 12000 else 65000
for _ in range(500):
    base = random.randrange(10000, top - count)
    held = []
    try:
        for p in range(base, base + count):
            s = socket.socket(); s.bind(("127.0.0.1", p)); held.append(s)
    except OSError:
        continue
    finally:
        for s in held: s.close()
    print(base); break
else:
    sys.exit("no run of free ports found")
PY
}
free_port() { free_port_run 1; }

# extract DOC OUTDIR: writes each ```bash block to OUTDIR/NNN.sh and its starting line to OUTDIR/NNN.line.
# A fence may be indented (inside a list item); that indentation is removed from the block's lines.
extract() {
    awk -v out="$2" '
        !inside && /^[ \t]*```bash[ \t]*$/ { inside = 1; n++; file = sprintf("%s/%03d.sh", out, n)
                                             indent = index($0, "`") - 1
                                             printf "%d\n", NR + 1 > sprintf("%s/%03d.line", out, n); next }
        inside && /^[ \t]*```[ \t]*$/      { inside = 0; close(file); next }
        inside                             { print substr($0, 1, indent) ~ /^[ \t]*$/ ? substr($0, indent + 1) : $0 > file }
        END { if (inside) { print "unterminated ```bash block" > "/dev/stderr"; exit 1 } }
    ' "$1"
}

lint() { # lint DOC: the rules the operator documents keep
    local doc=$1 bad text
    bad=$(grep -nE '/home/|~/|\$HOME' "$ROOT/$doc") && fail "$doc names a home directory:"$'\n'"$bad"
    bad=$(grep -nE '^[ \t]*```(sh|shell|console|zsh|bash .+|ksh)[ \t]*$' "$ROOT/$doc") &&
        fail "$doc has a shell block that would not be run; fence it \`\`\`bash (run by this test) or \`\`\`text:"$'\n'"$bad"
    text=$(grep -cE '^[ \t]*```text[ \t]*$' "$ROOT/$doc")
    TEXT_BLOCKS=$((TEXT_BLOCKS + text))
    local first
    first=$(awk '/^[ \t]*```bash[ \t]*$/ {getline; print; exit}' "$ROOT/$doc")
    grep -qF '. scripts/ops_env.sh' <<< "$first" ||
        fail "$doc: its first \`\`\`bash block must source the preamble (. scripts/ops_env.sh), found: $first"
}

write_sandbox_env() { # write_sandbox_env DOCDIR: the environment every block of one document runs in
    local dir=$1
    mkdir -p "$dir/artifacts" "$dir/tmp"
    # Policy admin commands write into POLICIES_DIR: the sandbox serves a copy of the examples.
    cp -R "$ROOT/config/policies" "$dir/policies"
    cat > "$dir/perf_smoke_policy.json" << 'EOF'
{"version": 2, "description": "docs sandbox: the bench ran and the router answered; no speed verdict",
 "require_complete_run": true,
 "rules": [{"metric": "errors.router", "equals": 0, "why": "every request answered ok"},
           {"metric": "router.rss_load_mb", "max": 100, "why": "bounded memory"}]}
EOF
    {
        printf '%s=%q\n' PATH "$PATH" LANG C.UTF-8 TERM dumb "${MARKER%%=*}" "${MARKER#*=}" \
            BUILD_DIR "$BUILD_DIR" ARTIFACTS_DIR "$dir/artifacts" CERTS_DIR "$dir/certs" TMPDIR "$dir/tmp" \
            POLICIES_DIR "$dir/policies" \
            NATS_PORT "$(free_port)" NATS_MONITOR_PORT "$(free_port)" HTTP_LISTEN "127.0.0.1:$(free_port)" \
            NATS_CLUSTER_PORT "$(free_port_run 3)" NATS_CLUSTER_ROUTE_PORT "$(free_port_run 3)" \
            NATS_CLUSTER_MONITOR_PORT "$(free_port_run 3)" \
            BENCH_ROUNDS 1 BENCH_DURATION 1 BENCH_WARMUP 0.2 BENCH_INFLIGHT 64 BENCH_RATE 2000 \
            BENCH_TENANTS 50 POLICY_FILE "$dir/perf_smoke_policy.json"
    } > "$dir/env"
}

TEXT_BLOCKS=0
for doc in "${OPS_DOCS[@]}"; do
    [ -f "$ROOT/$doc" ] || fail "$doc is missing"
    lint "$doc"
done
[ "$TEXT_BLOCKS" -le "$MAX_TEXT_BLOCKS" ] ||
    fail "$TEXT_BLOCKS \`\`\`text blocks in the operator documents (at most $MAX_TEXT_BLOCKS): keep untested commands few"

total=0
started=$SECONDS
for doc in "${DOCS[@]}"; do
    [ -f "$ROOT/$doc" ] || fail "$doc is missing"
    dir="$SANDBOX/$(echo "$doc" | tr '/' '_')"
    mkdir -p "$dir/blocks"
    extract "$ROOT/$doc" "$dir/blocks" || fail "$doc: cannot extract its blocks"
    blocks=("$dir"/blocks/*.sh)
    if [ ! -e "${blocks[0]}" ]; then
        [[ " ${OPS_DOCS[*]} " == *" $doc "* ]] && fail "$doc has no \`\`\`bash block"
        say "$doc: no bash blocks"
        continue
    fi
    write_sandbox_env "$dir"
    CURRENT_ENV="$dir/env"
    say "$doc: ${#blocks[@]} blocks (sandbox $dir)"
    doc_started=$SECONDS
    for block in "${blocks[@]}"; do
        line=$(cat "${block%.sh}.line")
        first=$(grep -m1 -vE '^[[:space:]]*(#|$)' "$block" || head -n1 "$block")
        t0=$(date +%s.%N)
        # A clean environment (only the sandbox's), the preamble, then the block as written; the ERR
        # trap writes the command that stopped the block to descriptor 3.
        {
            printf 'cd %q || exit 1\n' "$ROOT"
            echo '. scripts/ops_env.sh || exit 1'
            echo 'set -eo pipefail'
            echo "trap 'echo \"\$BASH_COMMAND\" >&3' ERR"
            printf '. %q\n' "$block"
        } > "${block%.sh}.run"
        env -i bash -c 'set -a; . "$1"; set +a; exec timeout -k 5 "$2" bash "$3"' _ \
            "$dir/env" "$BLOCK_TIMEOUT" "${block%.sh}.run" > "${block%.sh}.out" 2>&1 < /dev/null \
            3> "${block%.sh}.failed"
        rc=$?
        elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
        total=$((total + 1))
        if [ $rc -ne 0 ]; then
            why="exit status $rc"
            [ -s "${block%.sh}.failed" ] && why="\`$(tail -n 1 "${block%.sh}.failed")\` failed, exit status $rc"
            [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="timed out after ${BLOCK_TIMEOUT}s (exit status $rc)"
            {
                say "FAIL: $doc:$line: block starting \`$first\`: $why"
                say "---- the block ----"
                cat "$block"
                say "---- its output (last 80 lines) ----"
                tail -n 80 "${block%.sh}.out"
                say "----"
            } >&2
            exit 1
        fi
        printf '[run_doc_commands] ok %5ss  %s:%s  %s\n' "$elapsed" "$doc" "$line" "$first"
    done
    stop_started
    say "$doc: all blocks passed in $((SECONDS - doc_started))s"
done
say "all $total blocks passed in $((SECONDS - started))s ($TEXT_BLOCKS text blocks not run)"
