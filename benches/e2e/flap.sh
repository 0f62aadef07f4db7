#!/usr/bin/env bash
# Usage: benches/e2e/flap.sh [DUT...] [flap.py args...]
#   default: bgpsieve then bird (the baseline), 600 s each, 1M IPv4 + 200k IPv6 routes
#   e.g. flap.sh --duration 60 --n 100000 --v6 0        (a quick look)
# The flap-loop memory benchmark (see README.md "Flap loop: memory"). flap.py starts and
# stops every process by PID itself; this wrapper builds sink-rs (apart from run.sh's build, in
# /tmp/bgpbench/target-flap) and adds an overall bound.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CARGO_TARGET_DIR=/tmp/bgpbench/target-flap cargo build --release --offline -q \
    --manifest-path "$here/sink-rs/Cargo.toml"
# bound: every DUT's flap time plus start-up, data generation and the last cycle
duration=600; nduts=0; prev=
for a in "$@"; do
    [[ $prev == --duration ]] && duration=${a%.*}
    [[ $a == bgpsieve || $a == bird ]] && nduts=$((nduts + 1))
    prev=$a
done
((nduts)) || nduts=2
exec timeout --signal=TERM --kill-after=60 $((nduts * (duration + 900))) \
    python3 "$here/flap.py" "$@"
