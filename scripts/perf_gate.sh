#!/usr/bin/env bash
# Judges a perf artifact against the baseline, within the drift the policy allows.
#   scripts/perf_gate.sh [candidate.json]       default: the newest _artifacts/perf_*.json
#   scripts/perf_gate.sh --update-baseline [candidate.json]
#                                               record the candidate's figures as the new baseline
# Exit: 0 pass, 1 regression (the metric and both values are printed), 2 no usable candidate.
# Environment: BASELINE_FILE (perf/baseline.json), POLICY_FILE (perf/policy.json).
# The gate never runs the benchmark itself: run scripts/bench_router.sh first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

UPDATE=()
CANDIDATE=""
for arg in "$@"; do
    case "$arg" in
        --update-baseline) UPDATE=(--update-baseline) ;;
        -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) printf '[perf_gate.sh] unknown option %s\n' "$arg" >&2; exit 2 ;;
        *) CANDIDATE=$arg ;;
    esac
done

if [ -z "$CANDIDATE" ]; then
    # Artifact names carry a UTC timestamp, so the last in name order is the newest.
    CANDIDATE=$(printf '%s\n' "$ARTIFACTS_DIR"/perf_*.json | sort | tail -1)
    if [ ! -e "$CANDIDATE" ]; then
        printf '[perf_gate.sh] no candidate: no %s/perf_*.json (run scripts/bench_router.sh)\n' \
            "$ARTIFACTS_DIR" >&2
        exit 2
    fi
fi
if [ ! -r "$CANDIDATE" ]; then
    printf '[perf_gate.sh] no candidate: cannot read %s\n' "$CANDIDATE" >&2
    exit 2
fi

PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
[ -n "$PYTHON" ] || { printf '[perf_gate.sh] python3 is required\n' >&2; exit 2; }
exec "$PYTHON" "$BEAMLINE_ROOT/perf/perf_gate.py" \
    "${BASELINE_FILE:-$BEAMLINE_ROOT/perf/baseline.json}" \
    "${POLICY_FILE:-$BEAMLINE_ROOT/perf/policy.json}" "$CANDIDATE" "${UPDATE[@]}"
