#!/usr/bin/env python3
"""Writes a benchmark policy set: tenants t-0..t-(K-1), each with its own policy file
DIR/t-<i>/default.json. Even tenants are sticky on user_id and every tenant is weighted over three
providers, so both decision paths run.

  make_policies.py DIR K
"""
import json
import os
import sys

PROVIDERS = [
    {"name": "openai", "weight": 70, "expected_latency_ms": 250, "cost": 0.002},
    {"name": "anthropic", "weight": 20, "expected_latency_ms": 300, "cost": 0.003},
    {"name": "mistral", "weight": 10},
]


def main(argv):
    if len(argv) != 3 or not argv[2].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    root, tenants = argv[1], int(argv[2])
    for t in range(tenants):
        policy = {"version": "1", "providers": PROVIDERS}
        if t % 2 == 0:
            policy["sticky"] = {"enabled": True, "session_key": "user_id", "ttl": "10m"}
        os.makedirs(os.path.join(root, f"t-{t}"), exist_ok=True)
        with open(os.path.join(root, f"t-{t}", "default.json"), "w") as f:
            json.dump(policy, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
