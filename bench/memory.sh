#!/usr/bin/env bash
# Peak memory under worst-shape bodies (issue: "memory bounded by configuration, not by caller
# behaviour"). For each shape of bench/memory/shapes.py, a fresh gateway (default configuration,
# multi-threaded runtime, in front of a canonical upstream that answers after DELAY_MS) receives N
# concurrent Medusa updates of the largest body server.max_body_bytes allows, and then, again with
# a fresh gateway, one such update alone. RSS before is read after one small warm-up request;
# peak RSS is the kernel's high-water mark (VmHWM: no sampling gaps). Per request, as a multiple
# of the body:
#   - alone: (peak − before) / body, with one request (N=1): the peak of one request; measured
#     ALONE_RUNS times (default 3), each with a fresh gateway, and reported as the median with the
#     lowest and highest (one request's RSS peak moves by up to about 1× the body between runs:
#     the allocator returns freed pages late, and the kernel's high-water mark sees that);
#   - concurrent: (peak − before) / most / body, where `most` is the most requests the upstream
#     stub held at once (it prints each new high). When admission lets fewer than N work at once,
#     dividing by N would spread the working requests' peak over requests that were only
#     waiting (each holding its read body), and look better than it is; dividing by `most` counts
#     the waiting ones' bodies against the working ones.
#
#   bash bench/memory.sh                 # N=8 DELAY_MS=2500 MAX_BODY=1048576 MAX_VALUES=10000 ALONE_RUNS=3
#   N=32 SKIP_BUILD=1 bash bench/memory.sh
#   GW_ENV="DIALECTGATE__SERVER__MAX_BUFFERED_BYTES=268435456" bash bench/memory.sh
#   SKIP_BUILD=1 MEM_BIN=/path/to/older/dialectgate bash bench/memory.sh
# Results: bench/out/memory-<timestamp>.md (and stdout).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
install_traps

N=${N:-8}
ALONE_RUNS=${ALONE_RUNS:-3}
DELAY_MS=${DELAY_MS:-2500}
MAX_BODY=${MAX_BODY:-1048576}
# The gateway's server.max_json_values; each shape has as many values of its kind as it allows.
MAX_VALUES=${MAX_VALUES:-10000}
SHAPES=${SHAPES:-"tiny-array small-objects many-keys deep long-string"}
BASE_PORT=${BASE_PORT:-19280}
UP_PORT=$BASE_PORT GW_PORT=$((BASE_PORT + 1))
TS=$(date +%Y%m%d-%H%M%S)
RUN=$BENCH_DIR/out/memory-$TS
mkdir -p "$RUN"
REPORT=$BENCH_DIR/out/memory-$TS.md
# The release build, as deployed (not the profiling one); MEM_BIN=PATH (with SKIP_BUILD=1)
# measures another build, e.g. an earlier commit's.
BENCH_PROFILE=release
DG_BIN=${MEM_BIN:-$CARGO_TARGET_DIR/release/dialectgate}

command -v python3 >/dev/null || die "python3 is needed"
build_gateway
assert_port_free "$UP_PORT" "$GW_PORT"

# Set only when it is not the default, so a build older than the key can be measured too.
VALUES_ENV=""
[ "$MAX_VALUES" = 10000 ] || VALUES_ENV="DIALECTGATE__SERVER__MAX_JSON_VALUES=$MAX_VALUES"

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }

# measure SHAPE N: a fresh stub upstream and gateway, N concurrent updates of SHAPE's body; sets
# statuses, before and peak (KiB) and most (the most requests the upstream held at once).
measure() {
    local shape=$1 n=$2 up_pid gw_pid
    python3 "$BENCH_DIR/stub_upstream.py" "$UP_PORT" "$DELAY_MS" >"$RUN/upstream-$shape-$n.log" 2>&1 &
    up_pid=$!
    STARTED_PIDS+=("$up_pid")
    wait_port "$UP_PORT" "$up_pid"
    # shellcheck disable=SC2086
    (cd "$ROOT" && exec env DIALECTGATE_KEYS=dg_bench_key DIALECTGATE_UPSTREAM_TOKEN=bench \
        DIALECTGATE__SERVER__MAX_BODY_BYTES="$MAX_BODY" $VALUES_ENV ${GW_ENV:-} \
        "$DG_BIN" serve --listen "127.0.0.1:$GW_PORT" --admin-listen "" \
        --upstream "http://127.0.0.1:$UP_PORT" --upstream-dialect canonical --credentials static) \
        >"$RUN/gateway-$shape-$n.log" 2>&1 &
    gw_pid=$!
    STARTED_PIDS+=("$gw_pid")
    wait_port "$GW_PORT" "$gw_pid"
    # One small request first, so the pools and lazy statics are in the "before".
    echo '{"first_name":"Ada"}' >"$RUN/warm.json"
    python3 "$BENCH_DIR/memory/load.py" "$GW_PORT" 1 "$RUN/warm.json" dg_bench_key >/dev/null
    before=$(kib VmRSS "$gw_pid")
    log "$shape: $bytes bytes, $n concurrent"
    statuses=$(python3 "$BENCH_DIR/memory/load.py" "$GW_PORT" "$n" "$RUN/$shape.json" dg_bench_key)
    peak=$(kib VmHWM "$gw_pid")
    stop_pid "$gw_pid"
    stop_pid "$up_pid"
    most=$(awk '/^in flight:/ { m = $3 } END { print m + 0 }' "$RUN/upstream-$shape-$n.log")
}

# multiple PEAK BEFORE COUNT: (peak − before) per request, as a multiple of the body.
multiple() {
    awk -v p="$1" -v b="$2" -v n="$3" -v s="$bytes" 'BEGIN { if (n < 1) n = 1; printf "%.2f", (p - b) * 1024 / n / s }'
}

rows=()
for shape in $SHAPES; do
    python3 "$BENCH_DIR/memory/shapes.py" "$shape" "$MAX_BODY" "$MAX_VALUES" >"$RUN/$shape.json"
    bytes=$(stat -c %s "$RUN/$shape.json")
    runs=()
    for _ in $(seq "$ALONE_RUNS"); do
        measure "$shape" 1
        runs+=("$(multiple "$peak" "$before" 1)")
    done
    # The median run's figure, then the lowest and the highest.
    read -r median low high < <(printf '%s\n' "${runs[@]}" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }')
    alone="$statuses, $((before / 1024)) → $((peak / 1024)) MiB (last run), **${median}×** ($low–$high)"
    measure "$shape" "$N"
    together="$statuses, $((before / 1024)) → $((peak / 1024)) MiB, $most | $(multiple "$peak" "$before" "$most")× | $(multiple "$peak" "$before" "$N")×"
    rows+=("| $shape | $bytes | $alone | $together |")
done

{
    echo "# Peak memory, worst-shape bodies ($TS)"
    echo
    echo "Command: \`N=$N ALONE_RUNS=$ALONE_RUNS DELAY_MS=$DELAY_MS MAX_BODY=$MAX_BODY MAX_VALUES=$MAX_VALUES ${GW_ENV:+GW_ENV=\"$GW_ENV\" }bash bench/memory.sh\`: per shape, a fresh release gateway and stub upstream for one request alone, then again for $N concurrent ones (default configuration otherwise; server.max_body_bytes = $MAX_BODY, server.max_json_values = $MAX_VALUES), Medusa updates into a canonical upstream answering after $DELAY_MS ms; each body is as large as the limit allows and holds as many values of its shape as the value limit allows."
    echo
    echo "Per request, as a multiple of the body: alone = (peak − before) / body with one request, the median of $ALONE_RUNS runs (each a fresh gateway) with the lowest and highest; concurrent = (peak − before) / most / body, where most is the most requests the upstream held at once (fewer than N when admission made the others wait; their read bodies then count against the working ones). The last column divides by N instead, for comparison with earlier runs; it flatters a shape whose requests were made to wait."
    echo
    echo "| shape | body bytes | alone: status, RSS before → peak, per request (median, range) | $N concurrent: statuses, RSS before → peak, most at once | per request | (peak − before) / N / body |"
    echo "|---|---:|---|---|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee "$REPORT"
