#!/usr/bin/env bash
# The perf gate's verdicts on synthetic candidates, judged under the committed perf/policy.json:
# 0 for a candidate within the allowed drift, 1 for a regressed one (naming the metric and both
# values), 2 when there is no usable candidate.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GATE="$ROOT/scripts/perf_gate.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
FAILURES=0

# candidate FILE [dotted.path=value ...]: a complete artifact with echo-like figures, then overrides.
candidate() {
    "$PYTHON" - "$@" <<'PY'
import json, sys
path, overrides = sys.argv[1], sys.argv[2:]
ratios = {"throughput": 1.0, "p50": 1.0, "p95": 1.0, "p99": 1.0, "p999": 1.0, "max": 1.0}
doc = {"schema": "beamline.perf.v1", "timestamp": "2026-01-01T00:00:00Z",
       "git": {"commit": "0" * 40, "dirty": False}, "env": {"tls": False}, "placeholder": False,
       "scenarios": {"closed_512": {"ratios": dict(ratios)},
                     "closed_512_interleaved": {"ratios": dict(ratios)},
                     "open_10000": {"ratios": dict(ratios)}},
       "checks": {"loadgen_vs_libnats": {"value": 1.0}},
       "router": {"rss_idle_mb": 10.0, "rss_load_mb": 40.0, "backpressure_activations": 0},
       "errors": {"reference": 0, "router": 0}, "run": {"complete": True, "failed_runs": 0}}
for item in overrides:
    key, value = item.split("=", 1)
    node = doc
    *parents, last = key.split(".")
    for k in parents:
        node = node[k]
    if value == "DELETE":
        del node[last]
    else:
        node[last] = json.loads(value)
with open(path, "w") as f:
    json.dump(doc, f)
PY
}

# expect CODE DESCRIPTION [--output-has TEXT] -- ARGS...: runs the gate, checks exit code and output.
expect() {
    local want=$1 what=$2 needle=""
    shift 2
    if [ "${1:-}" = --output-has ]; then needle=$2; shift 2; fi
    [ "${1:-}" = -- ] && shift
    local got=0
    BASELINE_FILE="$WORK/baseline.json" ARTIFACTS_DIR="${ARTIFACTS:-$WORK/artifacts}" \
        "$GATE" "$@" >"$WORK/out" 2>&1 || got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$WORK/out"
        FAILURES=$((FAILURES + 1))
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$WORK/out"; then
        echo "FAIL: $what: output lacks '$needle'"; sed 's/^/    /' "$WORK/out"
        FAILURES=$((FAILURES + 1))
    else
        echo "ok: $what (exit $got)"
    fi
}

# A baseline recorded from a good candidate through the gate's own --update-baseline.
echo '{"schema": "beamline.perf.baseline.v1", "placeholder": false, "variants": {}}' >"$WORK/baseline.json"
candidate "$WORK/good.json"
expect 0 "recording a baseline" -- --update-baseline "$WORK/good.json"

# The figures the policy records without judging (the deployment report reads the open-loop p99).
candidate "$WORK/recorded.json" 'scenarios.open_10000.router={"p95": 800.0, "p99": 950.0}'
cp "$WORK/baseline.json" "$WORK/baseline.kept"
expect 0 "recording a baseline with the router's open-loop latencies" -- --update-baseline "$WORK/recorded.json"
if [ "$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["variants"]["plain"]["scenarios"]["open_10000"]["router"]["p99"])' "$WORK/baseline.json")" != 950.0 ]; then
    echo "FAIL: --update-baseline did not record scenarios.open_10000.router.p99"; FAILURES=$((FAILURES + 1))
else
    echo "ok: --update-baseline records the policy's 'record' figures"
fi
cp "$WORK/baseline.kept" "$WORK/baseline.json"

candidate "$WORK/same.json"
expect 0 "the baseline's own figures pass" --output-has "PASS" -- "$WORK/same.json"

candidate "$WORK/drift.json" scenarios.closed_512_interleaved.ratios.throughput=0.9 \
    scenarios.closed_512_interleaved.ratios.p99=1.2 router.rss_idle_mb=11.5
expect 0 "drift inside the allowance passes" -- "$WORK/drift.json"

candidate "$WORK/slow.json" scenarios.closed_512_interleaved.ratios.throughput=0.12
expect 1 "a throughput drop fails, naming both values" \
    --output-has "scenarios.closed_512_interleaved.ratios.throughput: candidate 0.12 vs baseline 1" -- "$WORK/slow.json"

candidate "$WORK/alone.json" scenarios.closed_512.ratios.throughput=0.6
expect 1 "a drop of the one-target-at-a-time closed loop fails, naming both values" \
    --output-has "scenarios.closed_512.ratios.throughput: candidate 0.6 vs baseline 1" -- "$WORK/alone.json"

candidate "$WORK/tail.json" scenarios.closed_512_interleaved.ratios.p99=1.7
expect 1 "a saturation p99 rise beyond the allowed drift fails" \
    --output-has "scenarios.closed_512_interleaved.ratios.p99: candidate 1.7 vs baseline 1" -- "$WORK/tail.json"

candidate "$WORK/loadgen.json" checks.loadgen_vs_libnats.value=0.55
expect 1 "a load generator slower than plain libnats fails the run" \
    --output-has "checks.loadgen_vs_libnats.value = 0.55 (min 0.6)" -- "$WORK/loadgen.json"

candidate "$WORK/open_tail.json" scenarios.open_10000.ratios.p99=1.55
expect 1 "an open-loop p99 over 1.5x the reference fails" \
    --output-has "scenarios.open_10000.ratios.p99 = 1.55 (max 1.5)" -- "$WORK/open_tail.json"

candidate "$WORK/open_p999.json" scenarios.open_10000.ratios.p999=2.5
expect 1 "an open-loop p999 over 2x the reference fails" \
    --output-has "scenarios.open_10000.ratios.p999 = 2.5 (max 2)" -- "$WORK/open_p999.json"

candidate "$WORK/fat.json" router.rss_load_mb=120 router.rss_idle_mb=10
expect 1 "the absolute RSS cap fails" --output-has "router.rss_load_mb = 120 (max 100)" -- "$WORK/fat.json"

candidate "$WORK/errors.json" errors.router=3
expect 1 "router errors fail" --output-has "errors.router = 3 (equals 0)" -- "$WORK/errors.json"

candidate "$WORK/incomplete.json" run.complete=false
expect 1 "an incomplete run fails" --output-has "run.complete" -- "$WORK/incomplete.json"

candidate "$WORK/missing.json" scenarios.open_10000=DELETE
expect 1 "a missing metric fails, named" --output-has "scenarios.open_10000.ratios.p99: missing" \
    -- "$WORK/missing.json"

candidate "$WORK/placeholder.json" placeholder=true
expect 1 "a placeholder candidate against a real baseline fails" --output-has "placeholder" \
    -- "$WORK/placeholder.json"

candidate "$WORK/tls.json" env.tls=true
expect 2 "a variant the baseline lacks is unusable" --output-has "no 'tls' variant" -- "$WORK/tls.json"

expect 2 "a candidate file that does not exist" -- "$WORK/nowhere.json"
printf '{"schema": "beamline.perf.v1", ' >"$WORK/truncated.json"
expect 2 "a truncated candidate" --output-has "cannot read candidate" -- "$WORK/truncated.json"
echo '{"metrics": {"rps": 62}}' >"$WORK/foreign.json"
expect 2 "an artifact of another schema" --output-has "not a beamline.perf.v1" -- "$WORK/foreign.json"
mkdir -p "$WORK/empty"
ARTIFACTS="$WORK/empty" expect 2 "no candidate in the artifacts directory" --output-has "no candidate"
mkdir -p "$WORK/artifacts"
candidate "$WORK/artifacts/perf_20260101T000000Z.json"
candidate "$WORK/artifacts/perf_20260102T000000Z.json" scenarios.closed_512_interleaved.ratios.throughput=0.5
expect 1 "by default the newest artifact is judged" --output-has "candidate 0.5" --

if [ "$FAILURES" != 0 ]; then
    echo "$FAILURES check(s) failed"
    exit 1
fi
echo "all perf gate checks passed"
