#!/usr/bin/env bash
# What is alive at the peak of one request (issue #23 item 2): for each shape of shapes.py, one
# Medusa update of the largest body, alone, through a gateway run under valgrind's DHAT, into a
# canonical stub upstream answering after DELAY_MS; peak.py then groups the heap bytes alive at
# the global peak (t-gmax) by the gateway's own frames that allocated them. The gateway is the
# profiling build with the `system-alloc` feature: DHAT sees malloc, not mimalloc's heap. The
# bytes the gateway holds from start-up (about 2.6 MiB: schemas, routes, pools) are in every
# peak.
#
#   bash bench/memory/attribute.sh
#   SHAPES="deep" SKIP_BUILD=1 bash bench/memory/attribute.sh
# Results: bench/out/attribute-<timestamp>/peak-<shape>.txt (and dhat-<shape>.out for dh_view).
set -euo pipefail
# Knobs (as bench/memory.sh's, but a short upstream delay: valgrind is slow enough).
: "${DELAY_MS:=500}" "${MAX_BODY:=1048576}" "${MAX_VALUES:=10000}" "${BASE_PORT:=19380}"
: "${SHAPES:=tiny-array small-objects many-keys deep long-string}"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"
install_traps
UP_PORT=$BASE_PORT GW_PORT=$((BASE_PORT + 1)) DG_BIN=$CARGO_TARGET_DIR/profiling/dialectgate
RUN=$BENCH_DIR/out/attribute-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"

command -v valgrind >/dev/null || die "valgrind is needed"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building dialectgate (profile profiling, feature system-alloc)"
    (cd "$ROOT" && CARGO_INCREMENTAL=0 cargo build --profile profiling --locked -p dialectgate --features system-alloc) >&2
fi
assert_port_free "$UP_PORT" "$GW_PORT"

for shape in $SHAPES; do
    python3 "$BENCH_DIR/memory/shapes.py" "$shape" "$MAX_BODY" "$MAX_VALUES" >"$RUN/$shape.json"
    python3 "$BENCH_DIR/stub_upstream.py" "$UP_PORT" "$DELAY_MS" >"$RUN/upstream-$shape.log" 2>&1 &
    up_pid=$!
    STARTED_PIDS+=("$up_pid")
    wait_port "$UP_PORT" "$up_pid"
    env DIALECTGATE_KEYS=dg_bench_key DIALECTGATE_UPSTREAM_TOKEN=bench \
        DIALECTGATE__SERVER__MAX_BODY_BYTES="$MAX_BODY" \
        valgrind --tool=dhat --dhat-out-file="$RUN/dhat-$shape.out" \
        "$DG_BIN" serve --listen "127.0.0.1:$GW_PORT" --admin-listen "" \
        --upstream "http://127.0.0.1:$UP_PORT" --upstream-dialect canonical --credentials static \
        >"$RUN/gateway-$shape.log" 2>&1 &
    gw_pid=$!
    STARTED_PIDS+=("$gw_pid")
    wait_port "$GW_PORT" "$gw_pid" 90
    echo '{"first_name":"Ada"}' >"$RUN/warm.json"
    python3 "$BENCH_DIR/memory/load.py" "$GW_PORT" 1 "$RUN/warm.json" dg_bench_key >/dev/null
    log "$shape: $(python3 "$BENCH_DIR/memory/load.py" "$GW_PORT" 1 "$RUN/$shape.json" dg_bench_key)"
    # SIGTERM: the gateway drains and exits, and DHAT writes its file.
    stop_pid "$gw_pid"
    stop_pid "$up_pid"
    python3 "$BENCH_DIR/memory/peak.py" "$RUN/dhat-$shape.out" | tee "$RUN/peak-$shape.txt"
done
