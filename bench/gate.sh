#!/usr/bin/env bash
# The instruction-count regression gate (CI: .ci/run). For every case the gate binary lists
# (bench/gate: each dialect's vendor example through Gateway::handle against the embedded
# backend; `deployed`, an HTTP upstream at the default log level; `read-modify-write`, a write
# that reads the stored customer first), N requests run under callgrind, counting only those
# requests (--toggle-collect on the `measured` function); instructions/request is compared with
# bench/gate-baseline.tsv. A failing binary, an empty list or a baseline case not measured fails.
#
#   bench/gate.sh             # fails (exit 1) when a dialect costs more than 10% above its baseline
#   bench/gate.sh --update    # measures and rewrites the baseline (commit it with the change)
#
# Instruction counts are not wall-clock time: they hardly move between runs or machines with the
# same toolchain, so a 10% rise is a real change. Knobs: N (default 200), MAX_RISE_PCT (10),
# SKIP_BUILD=1, CARGO_TARGET_DIR, BENCH_PROFILE (profiling).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
: "${CARGO_TARGET_DIR:=$ROOT/target}"
BENCH_PROFILE=${BENCH_PROFILE:-profiling}
N=${N:-200}
MAX_RISE_PCT=${MAX_RISE_PCT:-10}
BASELINE=$BENCH_DIR/gate-baseline.tsv
BIN=$CARGO_TARGET_DIR/$BENCH_PROFILE/dialectgate-gate
UPDATE=0
case "${1:-}" in
    --update) UPDATE=1 ;;
    '') ;;
    *)
        echo "usage: bench/gate.sh [--update]" >&2
        exit 2
        ;;
esac

log() { printf '[gate] %s\n' "$*" >&2; }

if ! command -v valgrind >/dev/null; then
    [ "$(id -u)" = 0 ] || {
        log "valgrind is missing: install it (apt-get install valgrind) or run as root"
        exit 1
    }
    log "installing valgrind"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building bench/gate (profile $BENCH_PROFILE)"
    (cd "$ROOT" && CARGO_INCREMENTAL=0 cargo build --profile "$BENCH_PROFILE" --locked -p dialectgate-gate) >&2
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# The cases, asked of the binary first: a missing or failing binary, or one that lists nothing,
# fails the gate here (a `$(…)` inside a `for` list would swallow the failure and measure nothing).
CASES=$("$BIN" --list) || {
    log "$BIN --list failed: nothing measured"
    exit 1
}
[ -n "$CASES" ] || {
    log "$BIN --list named no case: nothing measured"
    exit 1
}
declare -A MEASURED
for dialect in $CASES; do
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
        --callgrind-out-file="$OUT/cg.$dialect" "$BIN" "$dialect" "$N" >"$OUT/$dialect.log" 2>&1 || {
        cat "$OUT/$dialect.log" >&2
        log "$dialect: the run failed"
        exit 1
    }
    total=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/cg.$dialect")
    [ -n "$total" ] && [ "$total" -gt 0 ] || {
        log "$dialect: callgrind counted nothing (was \`measured\` inlined or renamed?)"
        exit 1
    }
    MEASURED[$dialect]=$((total / N))
    log "$dialect: ${MEASURED[$dialect]} instructions/request"
done

if [ "$UPDATE" = 1 ]; then
    {
        echo "# bench/gate.sh baseline: instructions per request of the in-process pipeline (N=$N)."
        echo "# Rewrite with bench/gate.sh --update when a change moves the counts on purpose."
        printf 'dialect\tinstructions_per_request\n'
        for dialect in $(printf '%s\n' "${!MEASURED[@]}" | sort); do
            printf '%s\t%s\n' "$dialect" "${MEASURED[$dialect]}"
        done
    } >"$BASELINE"
    log "baseline written: $BASELINE"
    exit 0
fi

[ -f "$BASELINE" ] || {
    log "no baseline at $BASELINE: run bench/gate.sh --update"
    exit 1
}
fail=0
# Every case of the baseline must have been measured: one that disappeared is a failure, not a pass.
for dialect in $(awk -F'\t' 'NR > 1 && $1 !~ /^#/ && $1 != "dialect" {print $1}' "$BASELINE"); do
    if [ -z "${MEASURED[$dialect]:-}" ]; then
        log "$dialect is in the baseline but was not measured: the binary no longer lists it"
        fail=1
    fi
done
printf '| dialect | baseline | now | change |\n|---|---:|---:|---:|\n'
for dialect in $(printf '%s\n' "${!MEASURED[@]}" | sort); do
    base=$(awk -F'\t' -v d="$dialect" '$1 == d {print $2}' "$BASELINE")
    now=${MEASURED[$dialect]}
    if [ -z "$base" ]; then
        printf '| %s | – | %s | no baseline |\n' "$dialect" "$now"
        log "$dialect has no baseline: run bench/gate.sh --update and commit bench/gate-baseline.tsv"
        fail=1
        continue
    fi
    pct=$(awk -v a="$now" -v b="$base" 'BEGIN {printf "%+.1f", (a - b) * 100 / b}')
    printf '| %s | %s | %s | %s%% |\n' "$dialect" "$base" "$now" "$pct"
    if [ "$now" -gt $((base + base * MAX_RISE_PCT / 100)) ]; then
        log "$dialect: $now instructions/request, more than ${MAX_RISE_PCT}% above the baseline $base"
        fail=1
    fi
done
[ "$fail" = 0 ] && log "all ${#MEASURED[@]} cases within ${MAX_RISE_PCT}% of their baseline"
exit "$fail"
