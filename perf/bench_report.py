#!/usr/bin/env python3
"""Folds the load generator's per-run figures into the perf artifact (JSON) and its summary (Markdown).

Each scenario was measured R times against the reference (echo) and the router, taking turns. For
each round the router/reference ratio of every metric is computed; the artifact keeps the median of
those ratios (what the gate judges) next to the median absolute figures (for people).
"""
import argparse
import glob
import json
import os
import statistics
import sys

LATENCIES = ("p50", "p95", "p99", "p999", "max")
SCHEMA = "beamline.perf.v1"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_runs(directory):
    runs = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.*.*.json"))):
        scenario, _, round_text = os.path.basename(path)[: -len(".json")].split(".")
        with open(path) as f:
            for run in json.load(f)["targets"]:
                runs.setdefault(scenario, {}).setdefault(run["target"], {})[int(round_text)] = run
    return runs


def figures(run):
    out = {"throughput_rps": run["throughput_rps"], "errors": run["errors"]}
    # With no reply at all there is no latency to speak of: null, never a flattering 0.
    answered = run.get("replies", 0) > 0
    out.update({k: run["latency_us"][k] if answered else None for k in LATENCIES})
    return out


def ratio(router, reference):
    if router is None or reference is None or reference == 0:
        return None
    return router / reference


def backpressure_during(directory, scenario):
    """Increase of the router's backpressure counter over this scenario's runs."""
    try:
        with open(os.path.join(directory, f"{scenario}.backpressure")) as f:
            return sum(max(0, int(line)) for line in f if line.strip().lstrip("-").isdigit())
    except OSError:
        return 0


def summarise_scenario(by_target):
    reference = by_target.get("reference", {})
    router = by_target.get("router", {})
    rounds = sorted(set(reference) & set(router))
    per_round = []
    for r in rounds:
        ref, rt = figures(reference[r]), figures(router[r])
        per_round.append(
            {"round": r, "throughput": ratio(rt["throughput_rps"], ref["throughput_rps"]),
             **{k: ratio(rt[k], ref[k]) for k in LATENCIES}})
    result = {"rounds_compared": len(rounds)}
    for name, runs in (("reference", reference), ("router", router)):
        all_figures = [figures(run) for run in runs.values()]
        result[name] = {
            "rounds": len(all_figures),
            "errors": sum(f["errors"] for f in all_figures),
            **{k: median([f[k] for f in all_figures]) for k in ("throughput_rps",) + LATENCIES},
        }
    result["ratios"] = {k: median([p[k] for p in per_round]) for k in ("throughput",) + LATENCIES}
    result["ratios_per_round"] = per_round
    return result


def parse_meta(pairs):
    meta = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        meta[key] = value
    return meta


def rss_load_kb(samples_path):
    try:
        with open(samples_path) as f:
            values = [int(line) for line in f if line.strip().isdigit()]
    except OSError:
        values = []
    return max(values) if values else None


def build_artifact(runs, meta):
    scenarios = {name: summarise_scenario(runs.get(name, {})) for name in meta["scenarios"].split()}
    for name, scenario in scenarios.items():
        scenario["router"]["backpressure_activations"] = backpressure_during(meta["runs_dir"], name)
    rss_idle = int(meta["rss_idle_kb"]) if meta.get("rss_idle_kb", "").isdigit() else None
    rss_load = rss_load_kb(meta.get("rss_samples", ""))
    to_mb = lambda kb: round(kb / 1024.0, 2) if kb is not None else None
    before, after = int(meta.get("backpressure_before") or 0), int(meta.get("backpressure_after") or 0)
    rounds = int(meta["rounds"])
    complete = int(meta.get("failed_runs", 0)) == 0 and all(
        s["rounds_compared"] == rounds for s in scenarios.values())
    return {
        "schema": SCHEMA,
        "timestamp": meta["timestamp"],
        "git": {"commit": meta["git_commit"], "dirty": meta["git_dirty"] == "true"},
        "env": {"cpu_count": int(meta["cpu_count"]), "kernel": meta["kernel"],
                "nats_server": meta["nats_server"], "tls": meta["tls"] == "1",
                "quick": meta["quick"] == "1"},
        "config": {k: float(meta[k]) if "." in meta[k] else int(meta[k])
                   for k in ("rounds", "duration_s", "warmup_s", "inflight", "rate", "tenants",
                             "timeout_s")},
        "router_cmd": meta["router_cmd"],
        "placeholder": meta["placeholder"] == "1",
        "scenarios": scenarios,
        "router": {"rss_idle_mb": to_mb(rss_idle), "rss_load_mb": to_mb(rss_load),
                   "backpressure_activations": max(0, after - before)},
        "errors": {"reference": sum(s["reference"]["errors"] for s in scenarios.values()),
                   "router": sum(s["router"]["errors"] for s in scenarios.values())},
        "run": {"complete": complete, "failed_runs": int(meta.get("failed_runs", 0))},
    }


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def markdown(artifact):
    lines = [f"# Perf run {artifact['timestamp']}", ""]
    if artifact["placeholder"]:
        lines += ["**Placeholder:** the echo responder stood in for the router; these figures "
                  "measure NATS twice, not the router.", ""]
    env = artifact["env"]
    lines += [f"commit `{artifact['git']['commit'][:12]}`{' (dirty)' if artifact['git']['dirty'] else ''}, "
              f"{env['cpu_count']} CPUs, {env['kernel']}, {env['nats_server']}, "
              f"TLS {'on' if env['tls'] else 'off'}, router: `{artifact['router_cmd']}`", ""]
    lines += ["| scenario | target | req/s | p50 µs | p95 µs | p99 µs | p999 µs | max µs | errors |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in artifact["scenarios"].items():
        for target in ("reference", "router"):
            t = s[target]
            lines.append(f"| {name} | {target} | {fmt(t['throughput_rps'])} | "
                         + " | ".join(fmt(t[k]) for k in LATENCIES) + f" | {t['errors']} |")
        r = s["ratios"]
        lines.append(f"| {name} | **router/reference** | {fmt(r['throughput'], 3)} | "
                     + " | ".join(fmt(r[k], 3) for k in LATENCIES) + " | |")
    router = artifact["router"]
    lines += ["", f"Router RSS: idle {fmt(router['rss_idle_mb'], 1)} MB, under load "
              f"{fmt(router['rss_load_mb'], 1)} MB; backpressure activations "
              f"{router['backpressure_activations']}.",
              f"Ratios are medians over {artifact['config']['rounds']} alternating rounds of "
              f"{artifact['config']['duration_s']} s. Run complete: {artifact['run']['complete']}.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--out-json", required=True)
    parser.add_argument("--out-md", required=True)
    parser.add_argument("--meta", nargs="*", default=[])
    args = parser.parse_args()
    meta = parse_meta(args.meta)
    meta["runs_dir"] = args.runs
    artifact = build_artifact(load_runs(args.runs), meta)
    with open(args.out_json, "w") as f:
        json.dump(artifact, f, indent=2)
        f.write("\n")
    with open(args.out_md, "w") as f:
        f.write(markdown(artifact))
    return 0


if __name__ == "__main__":
    sys.exit(main())
