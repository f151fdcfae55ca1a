#!/usr/bin/env python3
"""Folds the load generators' per-run figures into the perf artifact (JSON) and its summary (Markdown).

Every run wrote <scenario>.<label>.<round>.json: beamline_loadgen's report (a "targets" array, with the
CPU time of the responders and nats-server over the measured window) or beamline_libnats_loadgen's
(one target, named by the label). Each scenario compares its targets with its "reference" (the echo
responder) round by round; the artifact keeps the median of those per-round ratios (what the gate
judges) next to the median absolute figures (for people). Checks across scenarios (load generator
against plain libnats, two echo responders against one, many tenants against 1,000) are per-round
ratios too.

The overload scenario is reported on its own ("overload"): per round, the slowed router's capacity
(closed loop), its accepted requests at half and at twice that rate, and its recovery
(overload_recovery.<round>.json, written by the bench script), judged against the goals below.
"""
import argparse
import glob
import json
import os
import statistics
import sys

LATENCIES = ("p50", "p95", "p99", "p999", "max")
CPU = ("responder_cpu_us_per_reply", "nats_cpu_us_per_reply", "loadgen_cpu_us_per_reply")
METRICS = ("throughput_rps",) + LATENCIES + CPU
SCHEMA = "beamline.perf.v1"
# Overload goals: shedding keeps goodput (accepted req/s at 2x / capacity) and the accepted
# requests' tail (p99 at 2x / p99 at 0.5x) within these.
OVERLOAD_MIN_GOODPUT = 0.9
OVERLOAD_MAX_P99_RATIO = 3.0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def per_reply(cpu_us, window_s, replies, duration_s):
    """CPU microseconds per reply: CPU rate over the window divided by the reply rate."""
    if cpu_us is None or not window_s or not replies or not duration_s:
        return None
    return (cpu_us / window_s) / (replies / duration_s)


def entries_of(document, label):
    """(target name, figures) for every target of one run file."""
    if "targets" not in document:  # beamline_libnats_loadgen: one target, no CPU figures
        latency = document.get("latency_us", {})
        replies = document.get("replies", 0)
        return [(label, {"throughput_rps": document.get("throughput_rps"),
                         "errors": document.get("unanswered", 0) + document.get("publish_failures", 0),
                         **{k: latency.get(k) if replies else None for k in LATENCIES},
                         **{k: None for k in CPU}})]
    cpu = document.get("cpu_us", {})
    window = document.get("cpu_window_s")
    duration = document.get("duration_s")
    all_replies = sum(t.get("replies", 0) for t in document["targets"])
    out = []
    for run in document["targets"]:
        # With no reply at all there is no latency to speak of: null, never a flattering 0.
        answered = run.get("replies", 0) > 0
        figures = {"throughput_rps": run["throughput_rps"], "errors": run["errors"],
                   **{k: run["latency_us"][k] if answered else None for k in LATENCIES},
                   "responder_cpu_us_per_reply": per_reply(cpu.get(run["target"]), window,
                                                           run.get("replies", 0), duration),
                   # Over every target's replies: a run interleaving two targets cannot split it.
                   "nats_cpu_us_per_reply": per_reply(cpu.get("nats"), window, all_replies, duration),
                   "loadgen_cpu_us_per_reply": per_reply(cpu.get("loadgen"), window, all_replies, duration)}
        out.append((run["target"], figures))
    return out


def load_runs(directory):
    """{scenario: {target: {round: figures}}}"""
    runs = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.*.*.json"))):
        scenario, label, round_text = os.path.basename(path)[: -len(".json")].split(".")
        try:
            with open(path) as f:
                document = json.load(f)
        except (OSError, ValueError):
            continue
        for target, figures in entries_of(document, label):
            runs.setdefault(scenario, {}).setdefault(target, {})[int(round_text)] = figures
    return runs


def ratio(value, reference):
    if value is None or reference is None or reference == 0:
        return None
    return value / reference


def backpressure_during(directory, scenario):
    """Increase of the router's backpressure counter over this scenario's runs."""
    try:
        with open(os.path.join(directory, f"{scenario}.backpressure")) as f:
            return sum(max(0, int(line)) for line in f if line.strip().lstrip("-").isdigit())
    except OSError:
        return 0


def summarise_scenario(by_target):
    targets = sorted(by_target, key=lambda t: (t != "reference", t != "router", t))
    rounds = sorted(set.intersection(*(set(by_target[t]) for t in targets))) if targets else []
    result = {"rounds_compared": len(rounds)}
    for name in targets:
        runs = list(by_target[name].values())
        result[name] = {"rounds": len(runs), "errors": sum(f["errors"] or 0 for f in runs),
                        **{k: median([f[k] for f in runs]) for k in METRICS}}
    comparisons = {}
    for name in targets:
        # A flooding load is compared with the same flood on the echo, everything else with the echo.
        reference_name = "reference_flood" if name.endswith("_flood") else "reference"
        reference = by_target.get(reference_name, {})
        if name == reference_name or not reference:
            continue
        per_round = [{"round": r, **{k: ratio(by_target[name][r][k], reference[r][k]) for k in METRICS}}
                     for r in rounds]
        comparisons[name] = {("throughput" if k == "throughput_rps" else k): median([p[k] for p in per_round])
                             for k in METRICS}
        comparisons[name]["per_round_throughput"] = [p["throughput_rps"] for p in per_round]
    result["ratios_vs_reference"] = comparisons
    # The router against the echo, where the gate looks for it.
    result["ratios"] = comparisons.get("router", {})
    return result


def cross_ratio(runs, numerator, denominator):
    """Median over rounds of numerator/denominator throughput, each given as (scenario, target)."""
    a = runs.get(numerator[0], {}).get(numerator[1], {})
    b = runs.get(denominator[0], {}).get(denominator[1], {})
    per_round = [ratio(a[r]["throughput_rps"], b[r]["throughput_rps"]) for r in sorted(set(a) & set(b))]
    if not per_round:
        return None
    return {"value": median(per_round), "per_round": per_round}


def checks(runs, closed, tenant_scenarios):
    found = {}
    wanted = {
        "loadgen_vs_libnats": ((closed, "reference"), (closed, "libnats_reference"),
                               "beamline_loadgen / plain libnats loop, same echo (>= 1: not the limit)"),
        "tls_loadgen_vs_libnats": (("tls_" + closed, "reference"), ("tls_" + closed, "libnats_reference"),
                                   "the same over mutual TLS"),
        "echo_two_vs_one": ((closed, "reference_x2"), (closed, "reference"),
                            "two echo responders in a queue group / one (~1: one echo is not the limit)"),
        "router_vs_reference_libnats": ((closed, "libnats_router"), (closed, "libnats_reference"),
                                        "router / echo, both driven by the plain libnats loop"),
    }
    for scenario in tenant_scenarios:
        wanted[f"{scenario}_vs_1000"] = ((scenario, "router"), (closed, "router"),
                                         f"router throughput with {scenario.split('_')[1]} tenants / 1,000")
    for name, (numerator, denominator, meaning) in wanted.items():
        value = cross_ratio(runs, numerator, denominator)
        if value is not None:
            found[name] = {**value, "meaning": meaning}
    return found


def overload_target(directory, part, round_number):
    """The run's one target, with the router's CPU µs per reply (refusals included) added."""
    try:
        with open(os.path.join(directory, f"overload.{part}.{round_number}.json")) as f:
            document = json.load(f)
        target = document["targets"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    target["router_cpu_us_per_reply"] = per_reply(document.get("cpu_us", {}).get(target["target"]),
                                                  document.get("cpu_window_s"), target.get("replies", 0),
                                                  document.get("duration_s"))
    return target


def overload_round(directory, round_number):
    """One round's figures, or None when a part of it is missing."""
    try:
        with open(os.path.join(directory, f"overload_recovery.{round_number}.json")) as f:
            recovery = json.load(f)
    except (OSError, ValueError):
        return None
    capacity, half, double = (overload_target(directory, p, round_number) for p in ("capacity", "half", "double"))
    if not (capacity and half and double):
        return None
    answered = double.get("replies", 0)
    recover_ms = recovery.get("recover_ms")
    return {
        "round": round_number,
        "capacity_rps": capacity["throughput_rps"],
        "capacity_p99_us": capacity["latency_us"]["p99"],
        "capacity_router_cpu_us_per_reply": capacity["router_cpu_us_per_reply"],
        "double_router_cpu_us_per_reply": double["router_cpu_us_per_reply"],
        "half_offered_rps": half["achieved_send_rps"],
        "half_accepted_rps": half["throughput_rps"],
        "half_accepted_p99_us": half["accepted_latency_us"]["p99"],
        "double_offered_rps": double["achieved_send_rps"],
        "double_accepted_rps": double["throughput_rps"],
        "double_accepted_p50_us": double["accepted_latency_us"]["p50"],
        "double_accepted_p99_us": double["accepted_latency_us"]["p99"],
        "double_overloaded_p99_us": double["overloaded_latency_us"]["p99"],
        "double_overloaded_share": double.get("overloaded", 0) / answered if answered else None,
        # Timeouts and errors other than overloaded: every request must be answered, and only so.
        "double_other_errors": double.get("other_errors", 0),
        "half_errors": half.get("errors", 0),
        "goodput_ratio": ratio(double["throughput_rps"], capacity["throughput_rps"]),
        "p99_ratio": ratio(double["accepted_latency_us"]["p99"], half["accepted_latency_us"]["p99"]),
        "activations": recovery.get("activations"),
        "recover_s": recover_ms / 1000.0 if isinstance(recover_ms, (int, float)) else None,
        "recover_after_s": recovery.get("recover_after_ms", 0) / 1000.0,
    }


def overload_summary(directory, rounds):
    per_round = [r for r in (overload_round(directory, n) for n in range(1, rounds + 1)) if r]
    keys = [k for k in (per_round[0] if per_round else {}) if k != "round"]
    medians = {k: median([r[k] for r in per_round]) for k in keys}
    try:
        with open(os.path.join(directory, "overload_recovery.1.json")) as f:
            settings = {k: v for k, v in json.load(f).items()
                        if k in ("inflight_high", "inflight_low", "delay_us", "slots", "capacity_inflight", "warmup_s",
                                 "recover_after_ms")}
    except (OSError, ValueError):
        settings = {}
    goals = {
        "goodput_ratio_min": OVERLOAD_MIN_GOODPUT, "p99_ratio_max": OVERLOAD_MAX_P99_RATIO,
        "goodput_met": medians.get("goodput_ratio") is not None and medians["goodput_ratio"] >= OVERLOAD_MIN_GOODPUT,
        "p99_met": medians.get("p99_ratio") is not None and medians["p99_ratio"] <= OVERLOAD_MAX_P99_RATIO,
        # Backpressure engaged in every round, or the 2x figures say nothing about shedding.
        "engaged_every_round": bool(per_round) and all((r["activations"] or 0) > 0 for r in per_round),
        "recovered_every_round": bool(per_round) and all(r["recover_s"] is not None for r in per_round),
    }
    return {"rounds_compared": len(per_round), "settings": settings, "median": medians, "goals": goals,
            "per_round": per_round}


def parse_meta(pairs):
    meta = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        meta[key] = value
    return meta


def rss_peak_kb(samples_path):
    try:
        with open(samples_path) as f:
            values = [int(line) for line in f if line.strip().isdigit()]
    except OSError:
        values = []
    return max(values) if values else None


def to_mb(kb):
    return round(kb / 1024.0, 2) if kb is not None else None


def routers(meta):
    out = {}
    for key, value in meta.items():
        if key.startswith("rss_idle_kb."):
            name = key.split(".", 1)[1]
            out[name] = {"tenants": int(meta.get(f"tenants.{name}") or 0),
                         "rss_idle_mb": to_mb(int(value)) if value.isdigit() else None,
                         "rss_load_mb": to_mb(rss_peak_kb(meta.get(f"rss_samples.{name}", "")))}
    return out


def build_artifact(runs, meta):
    names = meta["scenarios"].split()
    overload = None
    if "overload" in names:
        names.remove("overload")
        overload = overload_summary(meta["runs_dir"], int(meta["rounds"]))
    scenarios = {name: summarise_scenario(runs.get(name, {})) for name in names}
    for name, scenario in scenarios.items():
        if "router" in scenario:
            scenario["router"]["backpressure_activations"] = backpressure_during(meta["runs_dir"], name)
    closed = f"closed_{meta['inflight']}"
    by_router = routers(meta)
    main_router = by_router.get("router", {})
    before, after = int(meta.get("backpressure_before") or 0), int(meta.get("backpressure_after") or 0)
    rounds = int(meta["rounds"])
    complete = int(meta.get("failed_runs", 0)) == 0 and all(
        s["rounds_compared"] == rounds for s in scenarios.values()) and (
        overload is None or overload["rounds_compared"] == rounds)
    artifact = {
        "schema": SCHEMA,
        "timestamp": meta["timestamp"],
        "git": {"commit": meta["git_commit"], "dirty": meta["git_dirty"] == "true"},
        "env": {"cpu_count": int(meta["cpu_count"]), "kernel": meta["kernel"],
                "nats_server": meta["nats_server"], "tls": meta["tls"] == "1",
                "quick": meta["quick"] == "1", "load_average": meta.get("load_average")},
        "config": {k: float(meta[k]) if "." in meta[k] else int(meta[k])
                   for k in ("rounds", "duration_s", "warmup_s", "inflight", "rate", "tenants",
                             "timeout_s", "quiet_rate") if k in meta},
        "router_cmd": meta["router_cmd"],
        "placeholder": meta["placeholder"] == "1",
        "scenarios": scenarios,
        "checks": checks(runs, closed, [n for n in names if n.startswith("tenants_")]),
        "router": {"rss_idle_mb": main_router.get("rss_idle_mb"), "rss_load_mb": main_router.get("rss_load_mb"),
                   "backpressure_activations": max(0, after - before)},
        "routers": by_router,
        "errors": {"reference": sum(s.get("reference", {}).get("errors", 0) for s in scenarios.values()),
                   "router": sum(s.get("router", {}).get("errors", 0) for s in scenarios.values())},
        "run": {"complete": complete, "failed_runs": int(meta.get("failed_runs", 0))},
    }
    if overload is not None:
        artifact["overload"] = overload
    return artifact


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


TABLE_COLUMNS = (("throughput_rps", 0), ("p50", 0), ("p99", 0), ("p999", 0),
                 ("responder_cpu_us_per_reply", 2), ("nats_cpu_us_per_reply", 2))


def markdown(artifact):
    lines = [f"# Perf run {artifact['timestamp']}", ""]
    if artifact["placeholder"]:
        lines += ["**Placeholder:** the echo responder stood in for the router; these figures "
                  "measure NATS twice, not the router.", ""]
    env = artifact["env"]
    lines += [f"commit `{artifact['git']['commit'][:12]}`{' (dirty)' if artifact['git']['dirty'] else ''}, "
              f"{env['cpu_count']} CPUs, load average {env.get('load_average')} at the end, {env['kernel']}, "
              f"{env['nats_server']}, TLS {'on' if env['tls'] else 'off'}, router: `{artifact['router_cmd']}`",
              "", "Medians over rounds; ratios are per-round ratios against the scenario's `reference` "
              "(the echo responder), then their median. CPU is µs per reply from /proc/<pid>/stat over the "
              "measured window; in a run interleaving two targets nats-server's share is over both targets' "
              "replies. Absolute figures move with the machine's load; same-run ratios are what count.", "",
              "| scenario | target | req/s | p50 µs | p99 µs | p999 µs | responder CPU µs/reply | "
              "nats-server CPU µs/reply | errors |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in artifact["scenarios"].items():
        for target, t in s.items():
            if isinstance(t, dict) and "throughput_rps" in t:
                lines.append(f"| {name} | {target} | "
                             + " | ".join(fmt(t[k], d) for k, d in TABLE_COLUMNS) + f" | {t['errors']} |")
        for target, r in s.get("ratios_vs_reference", {}).items():
            lines.append(f"| {name} | **{target}/reference** | {fmt(r['throughput'], 3)} | "
                         + " | ".join(fmt(r[k], 3) for k, _ in TABLE_COLUMNS[1:]) + " | |")
    if artifact["checks"]:
        lines += ["", "| check | median | per round |", "|---|---:|---|"]
        for name, c in artifact["checks"].items():
            lines.append(f"| {name}: {c['meaning']} | {fmt(c['value'], 3)} | "
                         + ", ".join(fmt(v, 3) for v in c["per_round"]) + " |")
    if "overload" in artifact:
        lines += overload_markdown(artifact["overload"])
    lines += ["", "| router | tenants | RSS idle MB | RSS peak under load MB |", "|---|---:|---:|---:|"]
    for name, r in artifact["routers"].items():
        lines.append(f"| {name} | {r['tenants']:,} | {fmt(r['rss_idle_mb'], 1)} | {fmt(r['rss_load_mb'], 1)} |")
    lines += ["", f"Backpressure activations (main router): {artifact['router']['backpressure_activations']}. "
              f"{artifact['config']['rounds']} alternating rounds of {artifact['config']['duration_s']} s. "
              f"Run complete: {artifact['run']['complete']}.", ""]
    return "\n".join(lines)


def overload_markdown(overload):
    s, g = overload["settings"], overload["goals"]
    lines = ["", f"Overload (`router_overload`: decisions slowed by {s.get('delay_us', '?')} µs, "
             f"{s.get('slots', '?')} at a time, inflight marks "
             f"{s.get('inflight_high', '?')}/{s.get('inflight_low', '?')}, capacity from a closed loop of "
             f"{s.get('capacity_inflight', '?')}, {s.get('warmup_s', '?')} s unmeasured at 2x; accepted = answered "
             f"with a decision; goals: goodput ≥ {g['goodput_ratio_min']} × capacity, accepted p99 at 2x ≤ "
             f"{g['p99_ratio_max']} × at 0.5x):", "",
             "| round | capacity req/s | 0.5x accepted p99 µs | 2x offered req/s | 2x accepted req/s | goodput / capacity "
             "| 2x accepted p99 µs | p99 2x / 0.5x | overloaded share | overloaded p99 µs | other errors "
             "| activations | recovery s (recover_after s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [(str(r["round"]), r) for r in overload["per_round"]]
    if overload["per_round"]:
        rows.append(("**median**", {**overload["median"], "activations": overload["median"].get("activations")}))
    for name, r in rows:
        share = r.get("double_overloaded_share")
        lines.append(
            f"| {name} | {fmt(r['capacity_rps'])} | {fmt(r['half_accepted_p99_us'])} | {fmt(r['double_offered_rps'])} "
            f"| {fmt(r['double_accepted_rps'])} | {fmt(r['goodput_ratio'], 3)} | {fmt(r['double_accepted_p99_us'])} "
            f"| {fmt(r['p99_ratio'], 3)} | {fmt(share * 100 if share is not None else None, 1)}% "
            f"| {fmt(r['double_overloaded_p99_us'])} | {fmt(r['double_other_errors'])} | {fmt(r['activations'])} "
            f"| {fmt(r['recover_s'], 2)} ({fmt(r['recover_after_s'], 1)}) |")
    lines += ["", f"Goals met: goodput {g['goodput_met']}, p99 {g['p99_met']}; backpressure engaged every round "
              f"{g['engaged_every_round']}, recovered every round {g['recovered_every_round']}."]
    return lines


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
