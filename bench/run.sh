#!/usr/bin/env bash
# Side-by-side load benchmark on loopback: direct (fixed-response nginx upstream), nginx
# proxy_pass, and dialectgate (one case per dialect, plus an upstream that speaks Medusa), at
# several connection counts, in one run. See BENCHMARKS.md for what each figure means.
#
#   sudo bench/run.sh                                  # full run: 10 s per point, 1/64/1000 conns
#   DURATION=5 CONNS="1 64" bench/run.sh               # quick run
#   ROUNDS=3 bench/run.sh                              # interleaved rounds; the table shows medians
#   CASES="dg-medusa dg-axim" bench/run.sh             # only these gateway cases (+ direct, nginx)
#   DEPLOYED=0 bench/run.sh                            # without the deployed-path cases
#
# The deployed path (bench/deployed-cases.tsv), as in bench/callgrind.sh: every caller dialect into
# a dialect upstream with the gateway at the default log level (info: one access line per request),
# one gateway per upstream dialect, and the nginx + Lua peer doing the Elastic Path -> Medusa job.
#
# Other knobs: WARMUP (s, default 2), FRESH_GATEWAY (1 = a new gateway process for every
# measurement point, the default, so peak RSS and CPU are not inherited; 0 = one for the run), BASE_PORT (default 18180; uses BASE_PORT..+3),
# SKIP_BUILD=1 (use $DG_BIN as is), CARGO_TARGET_DIR, DG_BIN, NGINX_KEEPALIVE (nginx's idle
# upstream connections, default 64), POOL_MAX_IDLE (the gateway's upstream.pool_max_idle, default:
# the gateway's own default, 1024; it never holds more upstream connections than
# server.max_working, 128), GW_EXTRA_ARGS (extra `serve` flags, e.g. "--mode lenient"),
# DEPLOYED (1, the default: the deployed-path cases join; BASE_PORT+4 is the nginx + Lua peer,
# BASE_PORT+5.. one gateway per upstream dialect).
#
# Layout A (docs/measuring.md, Layouts and pinning): wrk on CPU0; the upstream and the proxy under test on CPU1.
# Results: bench/out/results-<timestamp>.md (and stdout); raw wrk output in bench/out/run-<timestamp>/.
set -uo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 64 1000"}
ROUNDS=${ROUNDS:-1}
WARMUP=${WARMUP:-2}
FRESH_GATEWAY=${FRESH_GATEWAY:-1}
BASE_PORT=${BASE_PORT:-18180}
UPSTREAM_PORT=$BASE_PORT
PROXY_PORT=$((BASE_PORT + 1))
GW_PORT=$((BASE_PORT + 2))
GWM_PORT=$((BASE_PORT + 3))
LUA_PORT=$((BASE_PORT + 4))
DEPLOYED=${DEPLOYED:-1}
if [ -n "${POOL_MAX_IDLE:-}" ]; then
    export DIALECTGATE__UPSTREAM__POOL_MAX_IDLE=$POOL_MAX_IDLE
fi

TS=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$BENCH_DIR/out/run-$TS
mkdir -p "$RUN"
install_traps

[ "$(nproc)" -ge 2 ] || die "layout A needs two CPUs (wrk on CPU0, servers on CPU1)"
ensure_tools
build_gateway
load_cases
[ "$DEPLOYED" = 1 ] && add_cases "$BENCH_DIR/deployed-cases.tsv"
check_bodies
# 1000 connections need ~3000 descriptors in the proxy (client + upstream side): ask for 65536,
# or take the hard limit where the sandbox caps it (20000 on the project's VMs).
raise_fd_limit
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] ||
    die "open-files limit $(ulimit -n) is too low for 1000 connections"

total_points=$((ROUNDS * ${#C_NAME[@]} * $(wc -w <<<"$CONNS")))
log "plan: ${#C_NAME[@]} cases x conns [$CONNS] x $ROUNDS round(s), ${DURATION}s each (+${WARMUP}s warm-up): ~$((total_points * (DURATION + WARMUP + 1) / 60 + 1)) min"

render_nginx
# The gateway processes, by key: gw (canonical upstream), gw_medusa (Medusa upstream, warn), and
# deployed-<dialect> (that upstream dialect, at the default log level); their ports and pids.
declare -A GW_PORT_OF=([gw]=$GW_PORT [gw_medusa]=$GWM_PORT) GW_PID_OF=()
# gw_key INDEX: the key of the gateway serving case INDEX ("" for the nginx ones).
gw_key() {
    case ${C_TARGET[$1]} in
    gw | gw_medusa) echo "${C_TARGET[$1]}" ;;
    deployed) echo "deployed-${C_UPDIALECT[$1]}" ;;
    esac
}
next_port=$((BASE_PORT + 5))
for i in "${!C_NAME[@]}"; do
    key=$(gw_key "$i")
    if [ -n "$key" ] && [ -z "${GW_PORT_OF[$key]:-}" ]; then
        GW_PORT_OF[$key]=$next_port
        next_port=$((next_port + 1))
    fi
done
# shellcheck disable=SC2046
assert_port_free "$UPSTREAM_PORT" "$PROXY_PORT" "$LUA_PORT" $(printf '%s\n' "${GW_PORT_OF[@]}" | sort -u)

start_nginx upstream "$RUN/upstream.conf" taskset -c 1
UP_PID=$LAST_PID
wait_port "$UPSTREAM_PORT" "$UP_PID"
start_nginx proxy "$RUN/proxy.conf" taskset -c 1
PROXY_PID=$LAST_PID
wait_port "$PROXY_PORT" "$PROXY_PID"
LUA_PID=""
if printf '%s\n' "${C_TARGET[@]}" | grep -qx lua; then
    start_nginx lua "$RUN/lua.conf" taskset -c 1
    LUA_PID=$LAST_PID
    wait_port "$LUA_PORT" "$LUA_PID"
fi
# (Re)starts the gateway KEY (gw_key).
restart_gateway() {
    local key=$1 port=${GW_PORT_OF[$1]}
    [ -n "${GW_PID_OF[$key]:-}" ] && stop_pid "${GW_PID_OF[$key]}"
    case $key in
    gw) start_gateway gateway "$port" canonical taskset -c 1 ;;
    gw_medusa) start_gateway gateway-medusa "$port" medusa taskset -c 1 ;;
    deployed-*) GW_RUST_LOG=info start_gateway "$key" "$port" "${key#deployed-}" taskset -c 1 ;;
    esac
    GW_PID_OF[$key]=$LAST_PID
    wait_port "$port" "$LAST_PID"
}
for key in "${!GW_PORT_OF[@]}"; do
    for i in "${!C_NAME[@]}"; do
        if [ "$(gw_key "$i")" = "$key" ]; then
            restart_gateway "$key"
            break
        fi
    done
done
{
    machine_summary
    echo "- open-files limit: $(ulimit -n) (asked for 65536)"
    echo "- started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); DURATION=${DURATION}s WARMUP=${WARMUP}s CONNS=\"$CONNS\" ROUNDS=$ROUNDS"
    echo "- layout A: wrk -t1 on CPU0; upstream nginx (pid $UP_PID), nginx proxy (pid $PROXY_PID), nginx + Lua (pid ${LUA_PID:--}) and dialectgate (${GW_PID_OF[*]:-none}) on CPU1 (taskset -c 1), all on 127.0.0.1"
    echo "- dialectgate: TOKIO_WORKER_THREADS=1 RUST_LOG=warn (per-request info log lines off; the deployed-* gateways: RUST_LOG=info, the default, one JSON access line per request) --credentials static (bench key) --mode strict; nginx proxy: keepalive $NGINX_KEEPALIVE to the upstream; gateway upstream.pool_max_idle: ${POOL_MAX_IDLE:-default (1024)}, server.max_working: default (128)"
    if [ "$FRESH_GATEWAY" = 1 ]; then
        echo "- FRESH_GATEWAY=1: each gateway measurement point starts a new gateway process (then ${WARMUP}s warm-up), so its CPU and peak RSS are not inherited from earlier points; nginx processes run throughout"
    else
        echo "- FRESH_GATEWAY=0: one gateway process per upstream dialect for the whole run (peak RSS includes memory retained from earlier points)"
    fi
    for key in "${!GW_PID_OF[@]}"; do
        echo "- gateway $key RSS after start: $(($(rss_kib "${GW_PID_OF[$key]}") / 1024)) MiB"
    done
} >"$RUN/meta.md"

port_of() {
    case ${C_TARGET[$1]} in
    upstream) echo "$UPSTREAM_PORT" ;;
    proxy) echo "$PROXY_PORT" ;;
    lua) echo "$LUA_PORT" ;;
    *) echo "${GW_PORT_OF[$(gw_key "$1")]}" ;;
    esac
}
pid_of() {
    case ${C_TARGET[$1]} in
    upstream) echo "" ;; # direct: there is no proxy
    proxy) echo "$PROXY_PID" ;;
    lua) echo "$LUA_PID" ;;
    *) echo "${GW_PID_OF[$(gw_key "$1")]}" ;;
    esac
}

# Smoke test: every case answers 2xx (and show what it answers).
for i in "${!C_NAME[@]}"; do
    port=$(port_of "$i")
    nreq_args "$i"
    answer=$(python3 "$BENCH_DIR/nreq.py" "$port" 20 "${NREQ_ARGS[@]}" --show 2>&1) ||
        die "smoke test ${C_NAME[$i]} failed: $answer"
    log "smoke ${C_NAME[$i]}: ${answer:0:160}"
    printf '%s\t%s\n' "${C_NAME[$i]}" "$answer" >>"$RUN/smoke.tsv"
done

printf 'round\tcase\ttarget\tconns\trequests\tduration_s\trps\tp50_us\tp90_us\tp99_us\tp999_us\terrors\tproxy_cpu_s\tupstream_cpu_s\tcpu1_busy_pct\tcpu1_steal_pct\tproxy_hwm_kib\tupstream_hwm_kib\tnew_tcp_conns\tproxy_user_s\n' >"$RUN/runs.tsv"

# run_point ROUND INDEX CONNS
run_point() {
    local r=$1 i=$2 c=$3 name=${C_NAME[$i]} target=${C_TARGET[$i]}
    local port pid url tag
    port=$(port_of "$i")
    pid=$(pid_of "$i")
    url="http://127.0.0.1:$port${C_PATH[$i]}"
    tag="$name-c$c-r$r"
    if [ "$FRESH_GATEWAY" = 1 ] && [ -n "$(gw_key "$i")" ]; then
        restart_gateway "$(gw_key "$i")"
        pid=$(pid_of "$i")
    fi
    export WRK_METHOD=${C_METHOD[$i]} WRK_BODY=${C_BODY[$i]} WRK_HEADERS=${C_HEADERS[$i]}
    # Warm-up: opens the connections (and the gateway's upstream pool), fills caches.
    WRK_REPORT="" taskset -c 0 wrk -t1 -c"$c" -d"${WARMUP}s" --timeout 5s -s "$BENCH_DIR/wrk/case.lua" "$url" >/dev/null 2>&1
    sleep 0.3
    local p0=0 u0 s0 p1=0 u1 s1 o0 o1 pu0=0 pu1=0
    [ -n "$pid" ] && { p0=$(cpu_ticks "$pid"); pu0=$(user_ticks "$pid"); reset_hwm "$pid"; }
    reset_hwm "$UP_PID"
    u0=$(cpu_ticks "$UP_PID")
    s0=$(cpu_stat 1)
    o0=$(tcp_active_opens)
    WRK_REPORT="$RUN/$tag.kv" taskset -c 0 wrk -t1 -c"$c" -d"${DURATION}s" --timeout 5s --latency \
        -s "$BENCH_DIR/wrk/case.lua" "$url" >"$RUN/$tag.wrk.txt" 2>&1
    s1=$(cpu_stat 1)
    o1=$(tcp_active_opens)
    u1=$(cpu_ticks "$UP_PID")
    [ -n "$pid" ] && { p1=$(cpu_ticks "$pid"); pu1=$(user_ticks "$pid"); }
    local phwm="" uhwm
    [ -n "$pid" ] && phwm=$(hwm_kib "$pid")
    uhwm=$(hwm_kib "$UP_PID")
    if [ ! -s "$RUN/$tag.kv" ]; then
        log "$tag: wrk produced no report (see $RUN/$tag.wrk.txt)"
        return
    fi
    # shellcheck disable=SC1090
    local requests duration_us err_connect err_read err_write err_status err_timeout p50_us p90_us p99_us p99_9_us
    eval "$(grep -E '^[a-z0-9_]+=[0-9.]+$' "$RUN/$tag.kv")"
    awk -v r="$r" -v name="$name" -v target="$target" -v c="$c" -v n="$requests" -v d="$duration_us" \
        -v p50="$p50_us" -v p90="$p90_us" -v p99="$p99_us" -v p999="$p99_9_us" \
        -v errs="$((err_connect + err_read + err_write + err_status + err_timeout))" \
        -v pt="$((p1 - p0))" -v ut="$((u1 - u0))" -v hz="$CLK_TCK" -v s0="$s0" -v s1="$s1" \
        -v phwm="$phwm" -v uhwm="$uhwm" -v haspid="${pid:+1}" -v opens="$((o1 - o0 - c))" -v put="$((pu1 - pu0))" 'BEGIN {
            split(s0, a, " "); split(s1, b, " ");
            tot = b[1] - a[1]; idle = b[2] - a[2]; steal = b[3] - a[3];
            busy = tot > 0 ? 100 * (tot - idle) / tot : 0; st = tot > 0 ? 100 * steal / tot : 0;
            printf "%s\t%s\t%s\t%s\t%d\t%.2f\t%.0f\t%d\t%d\t%d\t%d\t%d\t%s\t%.2f\t%.1f\t%.1f\t%s\t%s\t%d\t%s\n",
                r, name, target, c, n, d / 1e6, n / (d / 1e6), p50, p90, p99, p999, errs,
                (haspid ? sprintf("%.2f", pt / hz) : ""), ut / hz, busy, st, phwm, uhwm, opens, (haspid ? sprintf("%.2f", put / hz) : "")
        }' >>"$RUN/runs.tsv"
    log "$(tail -n1 "$RUN/runs.tsv" | awk -F'\t' '{printf "r%s %-24s c=%-5s %8s req/s  p50 %6s us  p99 %7s us  errors %s  proxy cpu %ss  steal %s%%", $1, $2, $4, $7, $8, $10, $12, ($13 == "" ? "-" : $13), $16}')  new upstream conns $(tail -n1 "$RUN/runs.tsv" | cut -f19)"
}

for r in $(seq 1 "$ROUNDS"); do
    for c in $CONNS; do
        for i in "${!C_NAME[@]}"; do
            run_point "$r" "$i" "$c"
        done
    done
done

for f in gateway gateway-medusa; do
    [ -s "$RUN/$f.log" ] && log "note: $f wrote $(wc -l <"$RUN/$f.log") log line(s) at RUST_LOG=warn (see $RUN/$f.log)"
done

OUT=$BENCH_DIR/out/results-$TS.md
python3 "$BENCH_DIR/report.py" "$RUN/runs.tsv" "$RUN/meta.md" >"$OUT" || die "report failed"
cp "$OUT" "$RUN/results.md"
cat "$OUT"
log "results: $OUT (raw: $RUN)"
