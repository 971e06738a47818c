#!/usr/bin/env bash
# Peak memory under worst-shape bodies (issue: "memory bounded by configuration, not by caller
# behaviour"). For each shape of bench/memory/shapes.py, a fresh gateway (default configuration,
# multi-threaded runtime, in front of a canonical upstream that answers after DELAY_MS) receives N
# concurrent Medusa updates of the largest body server.max_body_bytes allows. The table gives
# the statuses, RSS before, peak RSS (the kernel's high-water mark, VmHWM: no sampling gaps) and
# the peak over the before, per request, as a multiple of the body.
#
#   bash bench/memory.sh                 # N=8 DELAY_MS=2500 MAX_BODY=1048576 MAX_VALUES=10000
#   N=32 SKIP_BUILD=1 bash bench/memory.sh
#   GW_ENV="DIALECTGATE__SERVER__MAX_BUFFERED_BYTES=268435456" bash bench/memory.sh
#   SKIP_BUILD=1 MEM_BIN=/path/to/older/dialectgate bash bench/memory.sh
# Results: bench/out/memory-<timestamp>.md (and stdout).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
install_traps

N=${N:-8}
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

python3 "$BENCH_DIR/stub_upstream.py" "$UP_PORT" "$DELAY_MS" >"$RUN/upstream.log" 2>&1 &
UP_PID=$!
STARTED_PIDS+=("$UP_PID")
wait_port "$UP_PORT" "$UP_PID"

# Set only when it is not the default, so a build older than the key can be measured too.
VALUES_ENV=""
[ "$MAX_VALUES" = 10000 ] || VALUES_ENV="DIALECTGATE__SERVER__MAX_JSON_VALUES=$MAX_VALUES"

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }

rows=()
for shape in $SHAPES; do
    python3 "$BENCH_DIR/memory/shapes.py" "$shape" "$MAX_BODY" "$MAX_VALUES" >"$RUN/$shape.json"
    bytes=$(stat -c %s "$RUN/$shape.json")
    # shellcheck disable=SC2086
    (cd "$ROOT" && exec env DIALECTGATE_KEYS=dg_bench_key DIALECTGATE_UPSTREAM_TOKEN=bench \
        DIALECTGATE__SERVER__MAX_BODY_BYTES="$MAX_BODY" $VALUES_ENV ${GW_ENV:-} \
        "$DG_BIN" serve --listen "127.0.0.1:$GW_PORT" --admin-listen "" \
        --upstream "http://127.0.0.1:$UP_PORT" --upstream-dialect canonical --credentials static) \
        >"$RUN/gateway-$shape.log" 2>&1 &
    GW_PID=$!
    STARTED_PIDS+=("$GW_PID")
    wait_port "$GW_PORT" "$GW_PID"
    # One small request first, so the pools and lazy statics are in the "before".
    echo '{"first_name":"Ada"}' >"$RUN/warm.json"
    python3 "$BENCH_DIR/memory/load.py" "$GW_PORT" 1 "$RUN/warm.json" dg_bench_key >/dev/null
    before=$(kib VmRSS "$GW_PID")
    log "$shape: $bytes bytes, $N concurrent"
    statuses=$(python3 "$BENCH_DIR/memory/load.py" "$GW_PORT" "$N" "$RUN/$shape.json" dg_bench_key)
    peak=$(kib VmHWM "$GW_PID")
    stop_pid "$GW_PID"
    multiple=$(awk -v p="$peak" -v b="$before" -v n="$N" -v s="$bytes" 'BEGIN { printf "%.1f", (p - b) * 1024 / n / s }')
    rows+=("| $shape | $bytes | $N | $statuses | $((before / 1024)) | $((peak / 1024)) | $multiple× |")
done

{
    echo "# Peak memory, worst-shape bodies ($TS)"
    echo
    echo "Command: \`N=$N DELAY_MS=$DELAY_MS MAX_BODY=$MAX_BODY MAX_VALUES=$MAX_VALUES ${GW_ENV:+GW_ENV=\"$GW_ENV\" }bash bench/memory.sh\`: a fresh release gateway per shape (default configuration otherwise; server.max_body_bytes = $MAX_BODY, server.max_json_values = $MAX_VALUES), $N concurrent Medusa updates into a canonical upstream answering after $DELAY_MS ms; each body is as large as the limit allows and holds as many values of its shape as the value limit allows."
    echo
    echo "| shape | body bytes | N | statuses | RSS before MiB | peak RSS MiB | (peak − before) / N / body |"
    echo "|---|---:|---:|---|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee "$REPORT"
