#!/usr/bin/env bash
# tokio's runtime settings on one and two cores: the release gateway (built with the
# `bench-runtime` feature, which only adds the DIALECTGATE_BENCH_* variables of src/runtime.rs;
# without them its runtime is the shipped one) at the default log level, the deployed path's
# headline case (Elastic Path caller -> Medusa-dialect upstream, bench/deployed-cases.tsv
# dg-ep-up-medusa) into the kit's fixed-response nginx, under `wrk -t1 -c64`.
#
# Layout B (docs/measuring.md): wrk and the upstream on CPU0. The gateway on CPU1 alone ("one
# core"), or on CPU0 and CPU1 ("two cores", sharing CPU0 with wrk and the upstream: on a 2-core
# machine there is no third core). Every point is a fresh gateway; rounds alternate the settings.
# Reported per point (median of the rounds): requests/s, the gateway's CPU µs per request
# (utime + stime of all its threads / requests), its context switches per request (all threads,
# voluntary + involuntary), p99.
#
#   bench/runtime.sh                         # ROUNDS=3 DURATION=8
#   ROUNDS=1 DURATION=5 bench/runtime.sh
#   SETTINGS="w1 w2" CORES="1" bench/runtime.sh
#
# Settings (SETTINGS picks among them):
#   w1, w2        multi-thread runtime, TOKIO_WORKER_THREADS=1 / 2 (the shipped default is one
#                 worker per core the process may use: w1 on one core, w2 on two)
#   ct            a current-thread runtime (DIALECTGATE_BENCH_RUNTIME=current_thread)
#   w1-ev16, w2-ev16    event_interval 16 (tokio: 61): the I/O driver polled more often
#   w2-gq8        global_queue_interval 8: the injection queue checked more often
#   w1-io256, w2-io256  max_io_events_per_tick 256 (tokio: 1024)
# Knobs: ROUNDS, DURATION, WARMUP (2), CONNS (64), CORES ("1 2"), BASE_PORT (18580; +0..+1),
# SKIP_BUILD=1 with DG_BIN=… (a build with the bench-runtime feature), CARGO_TARGET_DIR.
# Results: bench/out/runtime-<timestamp>.md (and stdout); raw files in bench/out/runtime-<timestamp>/.
set -uo pipefail

BENCH_PROFILE=release
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
CORES=${CORES:-"1 2"}
SETTINGS=${SETTINGS:-"w1 w2 ct w1-ev16 w2-ev16 w2-gq8 w1-io256 w2-io256"}
BASE_PORT=${BASE_PORT:-18580}
UPSTREAM_PORT=$BASE_PORT
GW_PORT=$((BASE_PORT + 1))
PROXY_PORT=0 # not used here (bench/lib.sh render_nginx fills it into proxy.conf)
METHOD=PUT
URL_PATH=/v2/customers/cus_ada
HEADERS="Authorization: Bearer $DIALECTGATE_KEYS"
BODY=$BENCH_DIR/bodies/deployed-elasticpath.json

# env_of SETTING: the environment of a setting, as `env` arguments.
env_of() {
    case $1 in
    w1) echo "TOKIO_WORKER_THREADS=1" ;;
    w2) echo "TOKIO_WORKER_THREADS=2" ;;
    ct) echo "DIALECTGATE_BENCH_RUNTIME=current_thread" ;;
    w1-ev16) echo "TOKIO_WORKER_THREADS=1 DIALECTGATE_BENCH_EVENT_INTERVAL=16" ;;
    w2-ev16) echo "TOKIO_WORKER_THREADS=2 DIALECTGATE_BENCH_EVENT_INTERVAL=16" ;;
    w2-gq8) echo "TOKIO_WORKER_THREADS=2 DIALECTGATE_BENCH_GLOBAL_QUEUE_INTERVAL=8" ;;
    w1-io256) echo "TOKIO_WORKER_THREADS=1 DIALECTGATE_BENCH_MAX_IO_EVENTS=256" ;;
    w2-io256) echo "TOKIO_WORKER_THREADS=2 DIALECTGATE_BENCH_MAX_IO_EVENTS=256" ;;
    *) die "unknown setting $1" ;;
    esac
}
for s in $SETTINGS; do env_of "$s" >/dev/null; done

TS=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$BENCH_DIR/out/runtime-$TS
mkdir -p "$RUN"
install_traps
[ "$(nproc)" -ge 2 ] || die "needs two CPUs"
ensure_tools
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    [ -x "$DG_BIN" ] || die "SKIP_BUILD=1 but $DG_BIN does not exist"
else
    log "building the gateway (release, feature bench-runtime) into $CARGO_TARGET_DIR"
    (cd "$ROOT" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR" CARGO_INCREMENTAL=0 \
        cargo build --release --locked --features bench-runtime --bin dialectgate) >&2 ||
        die "cargo build failed"
fi
raise_fd_limit

render_nginx
assert_port_free "$UPSTREAM_PORT" "$GW_PORT"
start_nginx upstream "$RUN/upstream.conf" taskset -c 0
UP_PID=$LAST_PID
wait_port "$UPSTREAM_PORT" "$UP_PID"

# start_gw CORES SETTING [LOG]: the gateway at the default log level (its lines go to LOG,
# /dev/null unless given: a run writes one per request). Sets LAST_PID.
start_gw() {
    local cpus=0,1 log=${3:-/dev/null}
    [ "$1" = 1 ] && cpus=1
    # shellcheck disable=SC2046
    (cd "$ROOT" && exec env -u TOKIO_WORKER_THREADS -u RUST_LOG DIALECTGATE_KEYS="$DIALECTGATE_KEYS" \
        DIALECTGATE_UPSTREAM_TOKEN="$DIALECTGATE_UPSTREAM_TOKEN" $(env_of "$2") taskset -c "$cpus" \
        "$DG_BIN" serve --listen "127.0.0.1:$GW_PORT" --admin-listen "" \
        --upstream "http://127.0.0.1:$UPSTREAM_PORT" --upstream-dialect medusa --credentials static) \
        >>"$log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}
# Context switches of all the threads of PID, voluntary + involuntary.
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
nreq() { python3 "$BENCH_DIR/nreq.py" "$GW_PORT" "$1" "$METHOD" "$URL_PATH" "$BODY" "$HEADERS" "${@:2}"; }

# Smoke test, with the log kept: every setting starts and answers 2xx.
for s in $SETTINGS; do
    start_gw 1 "$s" "$RUN/smoke-$s.log"
    pid=$LAST_PID
    wait_port "$GW_PORT" "$pid"
    nreq 3 --show >"$RUN/smoke-$s.answer.txt" 2>&1 || die "$s: smoke test failed: $(cat "$RUN/smoke-$s.answer.txt")"
    stop_pid "$pid"
done
{
    machine_summary
    echo "- started: $TS; wrk -t1 -c$CONNS, ROUNDS=$ROUNDS x ${DURATION}s (+${WARMUP}s warm-up); case dg-ep-up-medusa ($METHOD $URL_PATH, $(basename "$BODY")); gateway at the default log level (lines to /dev/null), release build with the bench-runtime feature"
    echo "- layout B: wrk and the upstream nginx on CPU0; the gateway on CPU1 (one core) or CPU0,1 (two cores)"
} >"$RUN/meta.md"

printf 'round\tcores\tsetting\trequests\trps\tgw_us_per_req\tctx_per_req\tp99_us\terrors\n' >"$RUN/runs.tsv"
export WRK_METHOD=$METHOD WRK_BODY=$BODY WRK_HEADERS=$HEADERS
for r in $(seq 1 "$ROUNDS"); do
    order=$SETTINGS
    [ $((r % 2)) = 0 ] && order=$(echo "$SETTINGS" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
    for cores in $CORES; do
        for s in $order; do
            start_gw "$cores" "$s"
            pid=$LAST_PID
            wait_port "$GW_PORT" "$pid"
            url="http://127.0.0.1:$GW_PORT$URL_PATH"
            WRK_REPORT="" taskset -c 0 wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 5s -s "$BENCH_DIR/wrk/case.lua" "$url" >/dev/null 2>&1
            sleep 0.3
            p0=$(cpu_ticks "$pid") c0=$(ctx_switches "$pid")
            tag=c$cores.$s.r$r
            WRK_REPORT="$RUN/$tag.kv" taskset -c 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
                -s "$BENCH_DIR/wrk/case.lua" "$url" >"$RUN/$tag.wrk.txt" 2>&1
            p1=$(cpu_ticks "$pid") c1=$(ctx_switches "$pid")
            stop_pid "$pid"
            [ -s "$RUN/$tag.kv" ] || die "$tag: wrk wrote no report (see $RUN/$tag.wrk.txt)"
            requests="" duration_us="" p99_us=0 err_connect=0 err_read=0 err_write=0 err_status=0 err_timeout=0
            eval "$(grep -E '^[a-z0-9_]+=[0-9.]+$' "$RUN/$tag.kv")"
            awk -v r="$r" -v cores="$cores" -v s="$s" -v n="$requests" -v d="$duration_us" -v pt="$((p1 - p0))" \
                -v hz="$CLK_TCK" -v cs="$((c1 - c0))" -v p99="$p99_us" \
                -v errs="$((err_connect + err_read + err_write + err_status + err_timeout))" 'BEGIN {
                    printf "%s\t%s\t%s\t%d\t%.0f\t%.2f\t%.3f\t%d\t%d\n", r, cores, s, n, n / (d / 1e6),
                        1e6 * pt / hz / n, cs / n, p99, errs
                }' >>"$RUN/runs.tsv"
            log "r$r ${cores} core(s) $s: $(tail -n1 "$RUN/runs.tsv" | awk -F'\t' '{printf "%s req/s, %s us/request, %s context switches/request, p99 %s us, errors %s", $5, $6, $7, $8, $9}')"
        done
    done
done

OUT=$BENCH_DIR/out/runtime-$TS.md
python3 - "$RUN" "$SETTINGS" "$CORES" >"$OUT" <<'PY' || die "report failed"
import csv, os, statistics, sys
run, settings, cores = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print(open(os.path.join(run, "meta.md")).read())
rows = list(csv.DictReader(open(os.path.join(run, "runs.tsv")), delimiter="\t"))
med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
for c in cores:
    print(f"\n### gateway on {c} core(s)\n")
    print("| setting | requests/s | CPU µs/request (each round) | context switches/request | p99 µs | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in settings:
        rs = [r for r in rows if r["cores"] == c and r["setting"] == s]
        if not rs:
            continue
        each = ", ".join(r["gw_us_per_req"] for r in rs)
        print(f"| {s} | {med(rs, 'rps'):.0f} | {med(rs, 'gw_us_per_req'):.2f} ({each}) | {med(rs, 'ctx_per_req'):.3f} "
              f"| {med(rs, 'p99_us'):.0f} | {sum(int(r['errors']) for r in rs)} |")
print(f"\nraw: {run}")
PY
cp "$OUT" "$RUN/results.md"
cat "$OUT"
log "results: $OUT (raw: $RUN)"
