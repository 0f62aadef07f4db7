#!/usr/bin/env bash
# Usage: benches/e2e/graceful_restart.sh [bird] [frr] [graceful_restart.py args...]
#   default: BIRD, then FRR, with the full table (1M IPv4 + 200k IPv6 routes)
#   e.g. graceful_restart.sh bird --n 100000 --v6 20000        (a quick look, ~30 s)
# The graceful-restart benchmark (see README.md "Graceful restart"). graceful_restart.py starts
# and stops every process by PID itself; this wrapper builds bgpsieve (release) and adds an
# overall bound.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cargo build --release --locked -q --manifest-path "$here/../../Cargo.toml"
exec timeout --signal=TERM --kill-after=60 3600 python3 "$here/graceful_restart.py" "$@"
