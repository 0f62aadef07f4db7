#!/usr/bin/env python3
"""Writes google-2017-aspa.json: hypothetical ASPA records for the networks hit by the 2017
Google leak, derived from the bundled RIS rrc06 data itself (ASPA did not exist in 2017).

Affected networks: in every announcement whose path holds "701 15169", the origin and the AS
right after 15169 (the network whose route Google passed on). Each one's providers are the ASNs
seen directly left of it in paths that do not contain AS15169 at all (prepends collapsed),
never AS15169 itself: the records say what those networks' real upstreams were that hour, and
none of them names Google as a provider, which is the truth (Google was their peer, not their
transit). Run from this directory; deterministic output.
"""
import collections, csv, gzip, json

SRC = "2017-google-japan-leak/googleleak_rrc06_updates.csv.gz"
GOOGLE = 15169

def dedup(p):
    out = []
    for a in p:
        if not out or out[-1] != a:
            out.append(a)
    return out

affected = set()
left = collections.defaultdict(set)
with gzip.open(SRC, "rt") as f:
    r = csv.reader(f)
    next(r)
    for row in r:
        if row[2] != "A":
            continue
        fields = json.loads(",".join(row[6:]))
        path = fields.get("as-path", "")
        if "{" in path:
            continue
        p = dedup([int(a) for a in path.split()])
        if GOOGLE in p:
            i = p.index(GOOGLE)
            if i > 0 and p[i - 1] == 701 and i + 1 < len(p):
                affected.add(p[i + 1])
                affected.add(p[-1])
            continue
        for a, b in zip(p, p[1:]):
            left[b].add(a)

records = [
    {"customer_asid": c, "expires": 1893456000, "providers": sorted(left[c] - {GOOGLE})}
    for c in sorted(affected)
    if left[c] - {GOOGLE}
]
with open("google-2017-aspa.json", "w") as out:
    json.dump({"metadata": {"comment": "hypothetical, see make-google-2017-aspa.py"}, "aspas": records}, out, separators=(",", ":"))
    out.write("\n")
print(len(affected), "affected,", len(records), "records")
