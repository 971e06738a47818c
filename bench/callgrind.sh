#!/usr/bin/env bash
# Instructions per request, the noise-free figure (docs/measuring.md, Instructions per request): each server runs
# alone under `valgrind --tool=callgrind` (one process; the gateway with TOKIO_WORKER_THREADS=1,
# nginx with master_process off / daemon off / worker_processes 1). bench/nreq.py sends keep-alive
# requests over one connection: a warm-up, then N requests and a dump, then 2N requests and a
# dump (callgrind_control -z / -d). instructions/request = (I(2N) - I(N)) / N: the per-dump,
# idle-timer and start-up costs cancel out. The fixed-response upstream runs outside valgrind.
#
#   bench/callgrind.sh                      # N=1000, every case in bench/cases.tsv
#   N=500 CASES="dg-medusa" bench/callgrind.sh
#   REPEAT=2 bench/callgrind.sh             # measure every case twice (shows the spread)
#   FLOOR=0 bench/callgrind.sh              # without the floor cases (bench/floor-cases.tsv)
#   DEPLOYED=0 bench/callgrind.sh           # without the deployed-path cases (bench/deployed-cases.tsv)
#
# The deployed path (bench/deployed-cases.tsv): every caller dialect into a dialect upstream at the
# default log level (info), next to the nginx + Lua peer doing the Elastic Path -> Medusa job.
#
# The floor (bench/floor, built here too) is hyper + reqwest + tokio with the gateway's settings
# and nothing of the gateway's own: `floor` passes bytes through, `floor_json` also parses and
# re-serialises both bodies. Each dialect's body has a floor_json case, so the report can say how
# much of a gateway request is the stack and the JSON it must parse anyway, and how much is ours.
#
# Knobs: N (default 1000), WARM (default 200), REPEAT (default 1), BASE_PORT (default 18280;
# uses BASE_PORT..+4), SKIP_BUILD=1, CARGO_TARGET_DIR, DG_BIN, TOP (functions in the profile, 15).
# Results: bench/out/callgrind-<timestamp>.md (and stdout); dumps and callgrind_annotate
# profiles in bench/out/callgrind-<timestamp>/.
set -uo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=${N:-1000}
WARM=${WARM:-200}
REPEAT=${REPEAT:-1}
TOP=${TOP:-15}
BASE_PORT=${BASE_PORT:-18280}
UPSTREAM_PORT=$BASE_PORT            # fixed-response upstream, NOT under valgrind
PROXY_PORT=$((BASE_PORT + 1))       # nginx proxy_pass, under valgrind
GW_PORT=$((BASE_PORT + 2))          # dialectgate, canonical upstream, under valgrind
GWM_PORT=$((BASE_PORT + 3))         # dialectgate, Medusa upstream, under valgrind
UPSTREAM2_PORT=$((BASE_PORT + 4))   # a second copy of the upstream, under valgrind ("direct")
FLOOR_PORT=$((BASE_PORT + 5))       # bench/floor proxy, under valgrind
FLOORJ_PORT=$((BASE_PORT + 6))      # bench/floor proxy-json, under valgrind
LUA_PORT=$((BASE_PORT + 7))         # the nginx + Lua peer, under valgrind
DEPLOYED_PORT=$((BASE_PORT + 8))    # dialectgate at info, one per upstream dialect (+8, +9, ...)
FLOOR=${FLOOR:-1}
DEPLOYED=${DEPLOYED:-1}

TS=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$BENCH_DIR/out/callgrind-$TS
mkdir -p "$RUN"
install_traps

ensure_tools
build_gateway
load_cases
[ "$DEPLOYED" = 1 ] && add_cases "$BENCH_DIR/deployed-cases.tsv"
if [ "$FLOOR" = 1 ]; then
    # The floor cases join the list, and the floor binary is built.
    add_cases "$BENCH_DIR/floor-cases.tsv"
    FLOOR_BIN=${FLOOR_BIN:-$(dirname "$DG_BIN")/dialectgate-floor}
    if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -x "$FLOOR_BIN" ]; then
        log "building the floor (profile $BENCH_PROFILE) into $CARGO_TARGET_DIR"
        (cd "$ROOT" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR" CARGO_INCREMENTAL=0 \
            cargo build --profile "$BENCH_PROFILE" --locked -p dialectgate-floor) >&2 ||
            die "cargo build of bench/floor failed"
    fi
fi
check_bodies
raise_fd_limit

render_nginx
assert_port_free "$UPSTREAM_PORT" "$PROXY_PORT" "$GW_PORT" "$GWM_PORT" "$UPSTREAM2_PORT" "$FLOOR_PORT" "$FLOORJ_PORT" \
    "$LUA_PORT" "$DEPLOYED_PORT" $((DEPLOYED_PORT + 1))
start_nginx upstream "$RUN/upstream.conf"
UP_PID=$LAST_PID
wait_port "$UPSTREAM_PORT" "$UP_PID"

VALGRIND=(valgrind --tool=callgrind --collect-systime=no)
# GW_RUNTIME=default: the gateways run as shipped on one CPU (pinned with taskset, no
# TOKIO_WORKER_THREADS: src/runtime.rs picks the current-thread runtime); otherwise one worker of
# the multi-thread runtime (TOKIO_WORKER_THREADS=1), the figure earlier runs measured.
GW_WRAP=()
[ "${GW_RUNTIME:-}" = default ] && GW_WRAP=(taskset -c 1)
printf 'case\tserver\trep\tN\tI_N\tI_2N\tinstr_per_req\tdump_2N\n' >"$RUN/results.tsv"

# stop_server PID: SIGTERM, then wait (valgrind writes its final dump on exit).
stop_server() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$pid"
}

total_ir() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }

# measure SERVER_NAME PID PORT OUTFILE_BASE CASE_INDEX...
measure() {
    local server=$1 pid=$2 port=$3 base=$4
    shift 4
    local dumps=0 i rep f1 f2 i1 i2 per
    for i in "$@"; do
        local name=${C_NAME[$i]}
        nreq_args "$i"
        local args=("$port" "${NREQ_ARGS[@]}")
        python3 "$BENCH_DIR/nreq.py" "$port" 1 "${NREQ_ARGS[@]}" --show \
            >"$RUN/$name.answer.txt" 2>&1 || die "$name: the first request failed: $(cat "$RUN/$name.answer.txt")"
        for rep in $(seq 1 "$REPEAT"); do
            python3 "$BENCH_DIR/nreq.py" "${args[0]}" "$WARM" "${args[@]:1}" 2>>"$RUN/nreq.log" || die "$name: warm-up failed"
            callgrind_control -z "$pid" >/dev/null 2>&1 || die "callgrind_control -z $pid failed"
            python3 "$BENCH_DIR/nreq.py" "${args[0]}" "$N" "${args[@]:1}" 2>>"$RUN/nreq.log" || die "$name: N requests failed"
            callgrind_control --dump="$name-N" "$pid" >/dev/null 2>&1 || die "callgrind_control -d $pid failed"
            dumps=$((dumps + 1))
            f1="$base.$dumps"
            python3 "$BENCH_DIR/nreq.py" "${args[0]}" $((2 * N)) "${args[@]:1}" 2>>"$RUN/nreq.log" || die "$name: 2N requests failed"
            callgrind_control --dump="$name-2N" "$pid" >/dev/null 2>&1 || die "callgrind_control -d $pid failed"
            dumps=$((dumps + 1))
            f2="$base.$dumps"
            [ -s "$f1" ] && [ -s "$f2" ] || die "missing dump files $f1 $f2"
            i1=$(total_ir "$f1")
            i2=$(total_ir "$f2")
            per=$(((i2 - i1) / N))
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$server" "$rep" "$N" "$i1" "$i2" "$per" "$(basename "$f2")" >>"$RUN/results.tsv"
            log "$name (rep $rep): I(N)=$i1 I(2N)=$i2 -> $per instructions/request"
            if [ "$rep" = 1 ]; then
                callgrind_annotate --auto=no --inclusive=yes "$f2" >"$RUN/$name.inclusive.txt" 2>/dev/null
                callgrind_annotate --auto=no "$f2" >"$RUN/$name.exclusive.txt" 2>/dev/null
            fi
        done
    done
}

idx_of_target() {
    local t=$1 i
    for i in "${!C_NAME[@]}"; do
        [ "${C_TARGET[$i]}" = "$t" ] && printf '%s ' "$i"
    done
}

# 1. direct: the upstream itself (reference).
start_nginx upstream2 "$RUN/upstream2.conf" "${VALGRIND[@]}" --callgrind-out-file="$RUN/cg.direct"
PID=$LAST_PID
wait_port "$UPSTREAM2_PORT" "$PID" 60
# shellcheck disable=SC2046
measure direct "$PID" "$UPSTREAM2_PORT" "$RUN/cg.direct" $(idx_of_target upstream)
stop_server "$PID"

# 2. nginx proxy_pass (keepalive to the upstream).
start_nginx proxy "$RUN/proxy.conf" "${VALGRIND[@]}" --callgrind-out-file="$RUN/cg.nginx"
PID=$LAST_PID
wait_port "$PROXY_PORT" "$PID" 60
# shellcheck disable=SC2046
measure nginx "$PID" "$PROXY_PORT" "$RUN/cg.nginx" $(idx_of_target proxy)
stop_server "$PID"

# 3. dialectgate, canonical upstream: one case per dialect.
if [ -n "$(idx_of_target gw)" ]; then
    start_gateway gateway "$GW_PORT" canonical "${GW_WRAP[@]}" "${VALGRIND[@]}" --callgrind-out-file="$RUN/cg.gateway"
    PID=$LAST_PID
    wait_port "$GW_PORT" "$PID" 120
    # shellcheck disable=SC2046
    measure gateway "$PID" "$GW_PORT" "$RUN/cg.gateway" $(idx_of_target gw)
    stop_server "$PID"
fi

# 4. dialectgate, the upstream speaks Medusa.
if [ -n "$(idx_of_target gw_medusa)" ]; then
    start_gateway gateway-medusa "$GWM_PORT" medusa "${GW_WRAP[@]}" "${VALGRIND[@]}" --callgrind-out-file="$RUN/cg.gateway-medusa"
    PID=$LAST_PID
    wait_port "$GWM_PORT" "$PID" 120
    # shellcheck disable=SC2046
    measure gateway-medusa "$PID" "$GWM_PORT" "$RUN/cg.gateway-medusa" $(idx_of_target gw_medusa)
    stop_server "$PID"
fi

# 5. The nginx + Lua peer: Elastic Path in, Medusa upstream.
if [ -n "$(idx_of_target lua)" ]; then
    start_nginx lua "$RUN/lua.conf" "${VALGRIND[@]}" --callgrind-out-file="$RUN/cg.nginx-lua"
    PID=$LAST_PID
    wait_port "$LUA_PORT" "$PID" 60
    # shellcheck disable=SC2046
    measure nginx-lua "$PID" "$LUA_PORT" "$RUN/cg.nginx-lua" $(idx_of_target lua)
    stop_server "$PID"
fi

# 6. The deployed path: dialectgate at the default log level, one gateway per upstream dialect.
port=$DEPLOYED_PORT
for updialect in $(for i in $(idx_of_target deployed); do echo "${C_UPDIALECT[$i]}"; done | sort -u); do
    idx=()
    for i in $(idx_of_target deployed); do
        [ "${C_UPDIALECT[$i]}" = "$updialect" ] && idx+=("$i")
    done
    GW_RUST_LOG=info start_gateway "deployed-$updialect" "$port" "$updialect" "${GW_WRAP[@]}" "${VALGRIND[@]}" \
        --callgrind-out-file="$RUN/cg.deployed-$updialect"
    PID=$LAST_PID
    wait_port "$port" "$PID" 120
    measure "deployed-$updialect" "$PID" "$port" "$RUN/cg.deployed-$updialect" "${idx[@]}"
    stop_server "$PID"
    port=$((port + 1))
done

# 7. The floor: hyper + reqwest alone, then with the JSON both ways.
start_floor() {
    local name=$1 port=$2 mode=$3
    shift 3
    (cd "$ROOT" && exec env TOKIO_WORKER_THREADS=1 "$@" "$FLOOR_BIN" "127.0.0.1:$port" \
        "http://127.0.0.1:$UPSTREAM_PORT" "$mode") >>"$RUN/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}
for spec in "floor $FLOOR_PORT proxy" "floor_json $FLOORJ_PORT proxy-json"; do
    read -r target port mode <<<"$spec"
    [ -n "$(idx_of_target "$target")" ] || continue
    start_floor "$target" "$port" "$mode" "${VALGRIND[@]}" --callgrind-out-file="$RUN/cg.$target"
    PID=$LAST_PID
    wait_port "$port" "$PID" 120
    # shellcheck disable=SC2046
    measure "$target" "$PID" "$port" "$RUN/cg.$target" $(idx_of_target "$target")
    stop_server "$PID"
done

{
    machine_summary
    echo "- started: $TS; N=$N, warm-up $WARM, REPEAT=$REPEAT; valgrind --tool=callgrind on the server only, load from bench/nreq.py (one keep-alive connection)"
    if [ "${GW_RUNTIME:-}" = default ]; then rt="pinned to one CPU (taskset -c 1), the runtime as shipped (current-thread)"; else rt="TOKIO_WORKER_THREADS=1"; fi
    echo "- dialectgate: $rt, RUST_LOG=warn --credentials static --mode strict (the deployed-* servers: RUST_LOG=info, the default, one JSON access line per request); nginx: master_process off, daemon off, worker_processes 1, keepalive $NGINX_KEEPALIVE to the upstream; nginx-lua: the same + libnginx-mod-http-lua $(dpkg-query -W -f='${Version}' libnginx-mod-http-lua 2>/dev/null), lua-cjson $(dpkg-query -W -f='${Version}' lua-cjson 2>/dev/null)"
} >"$RUN/meta.md"
OUT=$BENCH_DIR/out/callgrind-$TS.md
python3 "$BENCH_DIR/cg_report.py" "$RUN" "$TOP" >"$OUT" || die "report failed"
cp "$OUT" "$RUN/results.md"
cat "$OUT"
log "results: $OUT (dumps and profiles: $RUN)"
