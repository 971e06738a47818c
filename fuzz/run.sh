#!/usr/bin/env bash
# Runs every fuzz target (or the ones named as arguments) for a bounded time each, one after
# the other, and prints a summary: target, seconds, executions, crashes.
#
#   fuzz/run.sh                       # all targets, 60 s each
#   FUZZ_SECONDS=300 fuzz/run.sh request_medusa answer_medusa
#   FUZZ_ARGS='-jobs=1' fuzz/run.sh   # extra libFuzzer flags
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Honours
# CARGO_TARGET_DIR. New inputs go to fuzz/work/<target>/ (not committed); the committed seed
# corpus fuzz/corpus/<target>/ is read only. Crash inputs land in fuzz/artifacts/<target>/,
# which `cargo test -p dialectgate-dialect --test fuzz_corpus` replays. Exits 1 if any target
# crashed or failed to run.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

seconds="${FUZZ_SECONDS:-60}"
extra=(${FUZZ_ARGS:-})
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    # Two per dialect of the registry: request_<id> and answer_<id>.
    mapfile -t targets < <(for f in ../config/dialects/*.toml; do
        id="$(basename "$f" .toml)"
        echo "request_$id"
        echo "answer_$id"
    done)
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

echo "building the request and answer targets for ${#targets[@]} runs..."
if ! cargo +nightly fuzz build -O >/dev/null; then
    echo "build failed" >&2
    exit 2
fi

mkdir -p logs
summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
    log="logs/$t.log"
    before=$(find "artifacts/$t" -type f -name 'crash-*' | wc -l)
    echo "fuzzing $t for ${seconds}s (log: fuzz/$log)"
    start=$(date +%s)
    # The outer timeout is a safety net in case libFuzzer does not stop on its own.
    timeout --kill-after=30 "$((seconds + 120))" \
        env DIALECTGATE_FUZZ_DIALECT="${t#*_}" \
        cargo +nightly fuzz run -O "${t%%_*}" "work/$t" "corpus/$t" -- \
        -artifact_prefix="$here/artifacts/$t/" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=5 \
        -print_final_stats=1 "${extra[@]}" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    after=$(find "artifacts/$t" -type f -name 'crash-*' | wc -l)
    crashes=$((after - before))
    status=ok
    if [ "$rc" -ne 0 ]; then
        status="exit $rc"
        failed=1
        grep -m1 -E 'panicked at|invariant broken|ERROR: libFuzzer' "$log" | cut -c1-300 || true
    fi
    summary+=("$(printf '%-22s %6ss %12s %8s  %s' "$t" "$took" "${runs:-?}" "$crashes" "$status")")
done

echo
printf '%-22s %7s %12s %8s  %s\n' target time runs crashes status
printf '%s\n' "${summary[@]}"
exit "$failed"
