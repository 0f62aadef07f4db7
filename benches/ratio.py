#!/usr/bin/env python3
"""Prints the replay bench's figures and ratio from criterion's estimates (run
`cargo bench --bench replay` first). Both numbers come from the same run."""
import json, os, sys

base = os.path.join(os.path.dirname(__file__), "..", "target", "criterion", "replay")
def median(name):
    with open(os.path.join(base, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9
try:
    bare = median("bgpkit_elem_iter")
    ours = median("bgpsieve_replay_all_checks")
except FileNotFoundError as e:
    sys.exit(f"no estimates ({e}); run: cargo bench --bench replay")
print(f"bgpkit-parser bare elem iteration: {bare:.3f} s")
print(f"bgpsieve replay, every check:      {ours:.3f} s")
print(f"ratio replay / bare:               {ours / bare:.2f}x")
