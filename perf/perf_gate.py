#!/usr/bin/env python3
"""The perf gate: judges a bench artifact (scripts/bench_router.sh) against perf/baseline.json under
the drift allowed by perf/policy.json.

Exit codes: 0 pass, 1 regression (each failing metric is named with both values), 2 unusable input
(no candidate, or a candidate, baseline or policy that cannot be read).

  perf_gate.py BASELINE POLICY CANDIDATE                 judge
  perf_gate.py BASELINE POLICY CANDIDATE --update-baseline   copy the candidate's judged figures
                                                          into the baseline (for its TLS variant)
"""
import json
import math
import sys

PASS, REGRESSION, UNUSABLE = 0, 1, 2
CANDIDATE_SCHEMA = "beamline.perf.v1"
BASELINE_SCHEMA = "beamline.perf.baseline.v1"
RELATIVE_CHECKS = ("max_increase_pct", "max_decrease_pct")
ABSOLUTE_CHECKS = ("max", "min", "equals")


class Unusable(Exception):
    pass


def load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Unusable(f"cannot read {what} {path}: {e}")


def lookup(document, dotted):
    value = document
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def store(document, dotted, value):
    keys = dotted.split(".")
    for key in keys[:-1]:
        document = document.setdefault(key, {})
    document[keys[-1]] = value


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def variant_name(candidate):
    return "tls" if lookup(candidate, "env.tls") else "plain"


def load_inputs(baseline_path, policy_path, candidate_path):
    candidate = load_json(candidate_path, "candidate")
    if not isinstance(candidate, dict) or candidate.get("schema") != CANDIDATE_SCHEMA:
        raise Unusable(f"candidate {candidate_path} is not a {CANDIDATE_SCHEMA} artifact")
    policy = load_json(policy_path, "policy")
    if not isinstance(policy, dict) or not isinstance(policy.get("rules"), list):
        raise Unusable(f"policy {policy_path} has no list of rules")
    for rule in policy["rules"]:
        checks = [c for c in RELATIVE_CHECKS + ABSOLUTE_CHECKS if isinstance(rule, dict) and c in rule]
        if not isinstance(rule, dict) or not isinstance(rule.get("metric"), str) or not checks:
            raise Unusable(f"policy {policy_path}: rule {rule!r} needs a metric and a check "
                           f"({', '.join(RELATIVE_CHECKS + ABSOLUTE_CHECKS)})")
        for check in checks:
            if not is_number(rule[check]):
                raise Unusable(f"policy {policy_path}: {rule['metric']} {check} is not a number")
    baseline = load_json(baseline_path, "baseline")
    if not isinstance(baseline, dict) or baseline.get("schema") != BASELINE_SCHEMA:
        raise Unusable(f"baseline {baseline_path} is not a {BASELINE_SCHEMA} document")
    return baseline, policy, candidate


def judge(baseline_doc, policy, candidate):
    """Returns (failures, notes): failures name the metric, both values and the allowance."""
    failures, notes = [], []
    variant = variant_name(candidate)
    baseline = lookup(baseline_doc, f"variants.{variant}")
    if not isinstance(baseline, dict):
        raise Unusable(f"baseline has no '{variant}' variant; record one with --update-baseline")
    if baseline_doc.get("placeholder") or baseline.get("placeholder"):
        notes.append("WARNING: the baseline was measured with a placeholder, not the router; "
                     "re-baseline (perf/README.md)")
    if candidate.get("placeholder"):
        notes.append("WARNING: the candidate was measured with a placeholder, not the router")
        if not (baseline_doc.get("placeholder") or baseline.get("placeholder")):
            failures.append("placeholder: the candidate measured the echo stand-in, not the router")
    if policy.get("require_complete_run", True) and lookup(candidate, "run.complete") is not True:
        failures.append(f"run.complete: the candidate run was incomplete "
                        f"(failed runs: {lookup(candidate, 'run.failed_runs')})")

    for rule in policy["rules"]:
        metric = rule["metric"]
        value = lookup(candidate, metric)
        if not is_number(value):
            failures.append(f"{metric}: missing from the candidate (got {value!r})")
            continue
        for check in ABSOLUTE_CHECKS:
            if check not in rule:
                continue
            limit = rule[check]
            bad = ((check == "max" and value > limit) or (check == "min" and value < limit)
                   or (check == "equals" and value != limit))
            line = f"{metric} = {value:g} ({check} {limit:g})"
            (failures if bad else notes).append(("" if bad else "ok   ") + line)
        for check in RELATIVE_CHECKS:
            if check not in rule:
                continue
            base = lookup(baseline, metric)
            if not is_number(base):
                raise Unusable(f"baseline '{variant}' has no number for {metric}; re-baseline")
            allowed = rule[check]
            # Signed change from the baseline; a zero baseline makes any increase infinite.
            change = (value - base) * 100.0 / base if base else (math.inf if value > base else 0.0)
            if check == "max_increase_pct":
                bad, limit = change > allowed, f"+{allowed:g}%"
            else:
                bad, limit = -change > allowed, f"-{allowed:g}%"
            line = (f"{metric}: candidate {value:.4g} vs baseline {base:.4g} "
                    f"({change:+.1f}%, allowed {limit})")
            (failures if bad else notes).append(("" if bad else "ok   ") + line)
    return failures, notes


def update_baseline(baseline_path, baseline_doc, policy, candidate):
    variant = variant_name(candidate)
    recorded = {"timestamp": candidate.get("timestamp"), "git": candidate.get("git"),
                "env": candidate.get("env"), "config": candidate.get("config"),
                "router_cmd": candidate.get("router_cmd"),
                "placeholder": bool(candidate.get("placeholder"))}
    for rule in policy["rules"]:
        if any(check in rule for check in RELATIVE_CHECKS):
            value = lookup(candidate, rule["metric"])
            if not is_number(value):
                raise Unusable(f"candidate has no number for {rule['metric']}")
            store(recorded, rule["metric"], value)
    # Figures no rule judges but readers of the baseline use (the deployment report compares a
    # live router's p95/p99 with the open-loop scenario's).
    for metric in policy.get("record", []):
        value = lookup(candidate, metric)
        if is_number(value):
            store(recorded, metric, value)
    baseline_doc.setdefault("variants", {})[variant] = recorded
    baseline_doc["placeholder"] = any(v.get("placeholder") for v in baseline_doc["variants"].values())
    with open(baseline_path, "w") as f:
        json.dump(baseline_doc, f, indent=2)
        f.write("\n")
    print(f"perf gate: baseline '{variant}' in {baseline_path} now holds the figures of "
          f"{candidate.get('timestamp')}")


def main(argv):
    if len(argv) not in (4, 5) or (len(argv) == 5 and argv[4] != "--update-baseline"):
        print(__doc__, file=sys.stderr)
        return UNUSABLE
    baseline_path, policy_path, candidate_path = argv[1:4]
    try:
        baseline, policy, candidate = load_inputs(baseline_path, policy_path, candidate_path)
        if len(argv) == 5:
            update_baseline(baseline_path, baseline, policy, candidate)
            return PASS
        failures, notes = judge(baseline, policy, candidate)
    except Unusable as e:
        print(f"perf gate: {e}", file=sys.stderr)
        return UNUSABLE
    print(f"perf gate: candidate {candidate_path} ({variant_name(candidate)}, "
          f"{candidate.get('timestamp')})")
    for line in notes:
        print(f"  {line}")
    for line in failures:
        print(f"  FAIL {line}")
    if failures:
        print(f"FAIL: {len(failures)} regression(s)")
        return REGRESSION
    print("PASS: perf gate satisfied")
    return PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv))
