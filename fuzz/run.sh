#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) on stable Rust via cargo-fuzz
# (RUSTC_BOOTSTRAP=1 unlocks the -Z flags it passes). Exits non-zero on the first crash and
# prints the crashing input. New corpus entries go to a scratch dir, not fuzz/corpus/.
#   fuzz/run.sh [SECONDS] [TARGET...]
# Env: FUZZ_SANITIZER=none|address (default none: safe Rust; ASan doubles build time), FUZZ_JOBS (cargo -j), FUZZ_KEEP_CORPUS=DIR
#      (keep what the run found in DIR/<target>/ instead of a temp dir).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(bgp_codec bgp_open bgp_update bgp_notification rtr_pdu json_loaders mrt_input)
fi
export RUSTC_BOOTSTRAP=1
san=${FUZZ_SANITIZER:-none}
triple=$(rustc -vV | sed -n 's/^host: //p')

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz --locked" >&2; exit 2; }
t0=$(date +%s)
cargo fuzz build -O --sanitizer "$san" ${FUZZ_JOBS:+--jobs "$FUZZ_JOBS"}
echo "fuzz: build took $(( $(date +%s) - t0 ))s"

scratch=${FUZZ_KEEP_CORPUS:-$(mktemp -d)}
status=0
for t in "${targets[@]}"; do
    bin=${CARGO_TARGET_DIR:-target}/$triple/release/$t
    mkdir -p "$scratch/$t" "artifacts/$t" corpus/$t
    log=$scratch/$t.log
    echo "fuzz: $t for ${secs}s"
    set +e
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        "$scratch/$t" "corpus/$t" >"$log" 2>&1
    rc=$?
    set -e
    grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^#[0-9]+.*DONE' "$log" | sed "s/^/  $t: /" || true
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz: $t FAILED (exit $rc)" >&2
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written to' "$log" >&2 || tail -n 40 "$log" >&2
        art=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -n 1)
        [ -n "$art" ] && echo "fuzz: crashing input: fuzz/$art  (reproduce: $bin fuzz/$art)" >&2
    fi
done
[ -z "${FUZZ_KEEP_CORPUS:-}" ] && rm -rf "$scratch"
echo "fuzz: total $(( $(date +%s) - t0 ))s"
exit $status
