#!/usr/bin/env bash
# What the access log costs in system calls under concurrency: a release gateway on its embedded
# backend, `wrk -t1 -c64` of Medusa updates for DURATION seconds, and the write system calls the
# process made (/proc/PID/io, syscw) per request: the answer's write plus the access log's share.
# Loopback only; the gateway is stopped at the end.
#
#   bash bench/log-syscalls.sh [BIN ...]      # default: the release build of this tree
#   DURATION=5 ROUNDS=3 bash bench/log-syscalls.sh old/dialectgate target/release/dialectgate
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
install_traps
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-19501}
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
if [ "$#" -eq 0 ]; then
    BENCH_PROFILE=release
    DG_BIN=$CARGO_TARGET_DIR/release/dialectgate
    build_gateway
    set -- "$DG_BIN"
fi
RUN=$(mktemp -d)
cat >"$RUN/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"phone":"+44 1"}'
wrk.headers["content-type"] = "application/json"
wrk.headers["x-medusa-access-token"] = "dg_demo_key"
LUA
for round in $(seq 1 "$ROUNDS"); do
    for bin in "$@"; do
        assert_port_free "$PORT"
        (cd "$RUN" && exec "$bin" serve --listen "127.0.0.1:$PORT" --admin-listen "") 2>/dev/null &
        pid=$!
        STARTED_PIDS+=("$pid")
        wait_port "$PORT" "$pid"
        before=$(awk '/^syscw/ {print $2}' "/proc/$pid/io")
        out=$(wrk -t1 -c64 -d"${DURATION}s" -s "$RUN/post.lua" "http://127.0.0.1:$PORT/admin/customers/cus_ada")
        after=$(awk '/^syscw/ {print $2}' "/proc/$pid/io")
        stop_pid "$pid"
        requests=$(echo "$out" | awk '/requests in/ {print $1}')
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        awk -v a="$after" -v b="$before" -v n="$requests" -v r="$rps" -v bin="$bin" -v round="$round" \
            'BEGIN {printf "round %d  %s: %d requests, %.0f req/s, %.2f write syscalls/request\n", round, bin, n, r, (a - b) / n}'
    done
done
rm -rf "$RUN"
