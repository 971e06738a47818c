#!/usr/bin/env bash
# The upstream client, chosen by measurement: the floor (bench/floor) with reqwest, the gateway's
# client until this comparison (`reqwest`: each request built from a URL string;
# `reqwest-gateway`: built as crates/gateway/src/upstream.rs built it), against the same floor
# with hyper-util's pooled client (`hyper-util`: hyper_util::client::legacy over hyper-rustls's
# HttpsConnector), the stack reqwest wraps and the gateway's client since; both TLS-capable (rustls, ring, the
# platform verifier, HTTP/2 by ALPN) and set up alike (pool, idle timeout, nodelay, connect and
# total timeouts, no redirects, no retries). Both body modes: `proxy` (bytes through) and
# `proxy-json` (both bodies parsed and re-serialised). Upstream: the kit's fixed-response nginx
# on loopback, over plain HTTP/1.1 as every bench case uses (`http`), and over TLS (1.2, nginx
# 1.22's default protocols) with HTTP/2 by ALPN (`https`: its own throw-away certificate authority, made here with openssl and given
# to the floor as FLOOR_CA).
#
# 1. Instructions per request under callgrind, (I(2N) - I(N)) / N (one keep-alive connection,
#    TOKIO_WORKER_THREADS=1): the robust figure.
# 2. wrk -t1 -c64 in layout A (wrk on CPU0; the upstream and the floor on CPU1, one worker
#    thread): the floor's CPU µs per request and requests/s. Rounds alternate the clients, each
#    point with a fresh floor process; the table gives the median of the rounds.
#
#   bench/client.sh                          # N=1000 REPEAT=2, ROUNDS=3 x DURATION=10 s
#   N=500 REPEAT=1 ROUNDS=2 DURATION=5 bench/client.sh
#   CALLGRIND=0 bench/client.sh              # wrk only;  WRK=0: callgrind only
#   SCHEMES=http bench/client.sh             # the plain upstream only
#
# Knobs: N, WARM (200), REPEAT (callgrind rounds, 2), ROUNDS (wrk rounds, 3), DURATION (s, 10),
# WARMUP (s, 2), CONNS (64), BODY (bench/bodies/, canonical.json), BASE_PORT (18480; uses +0..+2),
# SKIP_BUILD=1 (use $FLOOR_BIN as is), BENCH_PROFILE (release; `profiling` keeps symbols for
# callgrind_annotate), CARGO_TARGET_DIR, FLOOR_BIN.
# Results: bench/out/client-<timestamp>.md (and stdout); raw files in bench/out/client-<timestamp>/.
set -uo pipefail

BENCH_PROFILE=${BENCH_PROFILE:-release}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=${N:-1000}
WARM=${WARM:-200}
REPEAT=${REPEAT:-2}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
CALLGRIND=${CALLGRIND:-1}
WRK=${WRK:-1}
BODY=$BENCH_DIR/bodies/${BODY:-canonical.json}
BASE_PORT=${BASE_PORT:-18480}
UPSTREAM_PORT=$BASE_PORT
FLOOR_PORT=$((BASE_PORT + 1))
TLS_PORT=$((BASE_PORT + 2))
PROXY_PORT=0 # not used here (bench/lib.sh render_nginx fills it into proxy.conf)
SCHEMES=${SCHEMES:-"http https"}
FLOOR_BIN=${FLOOR_BIN:-$CARGO_TARGET_DIR/$BENCH_PROFILE/dialectgate-floor}
CLIENTS=${CLIENTS:-"reqwest reqwest-gateway hyper-util"}
MODES="proxy proxy-json"
METHOD=PATCH
URL_PATH=/customers/cus_ada
HEADERS="Authorization: Bearer bench"

TS=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$BENCH_DIR/out/client-$TS
mkdir -p "$RUN"
install_traps
ensure_tools
[ -s "$BODY" ] || die "no body file $BODY"
if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -x "$FLOOR_BIN" ]; then
    log "building the floor (profile $BENCH_PROFILE) into $CARGO_TARGET_DIR"
    (cd "$ROOT" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR" CARGO_INCREMENTAL=0 \
        cargo build --profile "$BENCH_PROFILE" --locked -p dialectgate-floor) >&2 ||
        die "cargo build of bench/floor failed"
fi
raise_fd_limit

render_nginx
assert_port_free "$UPSTREAM_PORT" "$FLOOR_PORT"
start_nginx upstream "$RUN/upstream.conf" taskset -c 1
UP_PID=$LAST_PID
wait_port "$UPSTREAM_PORT" "$UP_PID"
TLS_PID=""
case " $SCHEMES " in *" https "*)
    # The same upstream over TLS with HTTP/2: a throw-away authority and a certificate for 127.0.0.1.
    command -v openssl >/dev/null || die "openssl is needed for the https upstream (or SCHEMES=http)"
    mkdir -p "$RUN/tls"
    (
        cd "$RUN/tls" &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
                -subj /CN=bench-ca -keyout ca.key -out ca.pem &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
                -keyout server.key -out server.csr &&
            printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n' >ext.cnf &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile ext.cnf -out server.pem
    ) >"$RUN/tls/openssl.log" 2>&1 || die "openssl failed (see $RUN/tls/openssl.log)"
    assert_port_free "$TLS_PORT"
    sed -e "s|@RUN@|$RUN|g" -e "s|upstream\.pid|upstream-tls.pid|; s|upstream\.error\.log|upstream-tls.error.log|; s|upstream-body|upstream-tls-body|" \
        -e "s|listen 127.0.0.1:@UPSTREAM_PORT@ reuseport|listen 127.0.0.1:$TLS_PORT ssl http2 reuseport|" \
        -e "s|^\( *server {\)\$|\1 ssl_certificate $RUN/tls/server.pem; ssl_certificate_key $RUN/tls/server.key;|" \
        "$BENCH_DIR/nginx/upstream.conf.in" >"$RUN/upstream-tls.conf"
    start_nginx upstream-tls "$RUN/upstream-tls.conf" taskset -c 1
    TLS_PID=$LAST_PID
    wait_port "$TLS_PORT" "$TLS_PID"
    ;;
esac
# upstream_of SCHEME: the floor's UPSTREAM argument; upid_of SCHEME: that upstream's pid.
upstream_of() { if [ "$1" = https ]; then echo "https://127.0.0.1:$TLS_PORT"; else echo "http://127.0.0.1:$UPSTREAM_PORT"; fi; }
upid_of() { if [ "$1" = https ]; then echo "$TLS_PID"; else echo "$UP_PID"; fi; }
{
    machine_summary
    echo "- floor: $FLOOR_BIN (profile $BENCH_PROFILE); body $(basename "$BODY") ($(wc -c <"$BODY") B), $METHOD $URL_PATH; upstream: fixed-response nginx on loopback, schemes: $SCHEMES (https: TLS 1.2, nginx 1.22's default protocols, with an ECDSA P-256 certificate; HTTP/2 by ALPN)"
    echo "- started: $TS; callgrind N=$N warm-up $WARM REPEAT=$REPEAT; wrk -t1 -c$CONNS, ROUNDS=$ROUNDS x ${DURATION}s (+${WARMUP}s warm-up), layout A (wrk on CPU0; upstream and floor on CPU1, TOKIO_WORKER_THREADS=1)"
} >"$RUN/meta.md"

# start_floor SCHEME MODE CLIENT [WRAPPER...]: the floor on FLOOR_PORT, one worker thread, in
# front of the SCHEME upstream. Sets LAST_PID.
start_floor() {
    local scheme=$1 mode=$2 client=$3 ca=()
    shift 3
    [ "$scheme" = https ] && ca=(FLOOR_CA="$RUN/tls/ca.pem")
    (cd "$ROOT" && exec env TOKIO_WORKER_THREADS=1 "${ca[@]}" "$@" "$FLOOR_BIN" \
        "127.0.0.1:$FLOOR_PORT" "$(upstream_of "$scheme")" "$mode" "$client") \
        >>"$RUN/floor-$scheme.$mode.$client.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}
nreq() { python3 "$BENCH_DIR/nreq.py" "$FLOOR_PORT" "$1" "$METHOD" "$URL_PATH" "$BODY" "$HEADERS" "${@:2}"; }
total_ir() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }

# 1. callgrind.
if [ "$CALLGRIND" = 1 ]; then
    printf 'rep\tscheme\tmode\tclient\tI_N\tI_2N\tinstr_per_req\n' >"$RUN/callgrind.tsv"
    for rep in $(seq 1 "$REPEAT"); do
        for scheme in $SCHEMES; do
            for mode in $MODES; do
                for client in $CLIENTS; do
                    tag=$scheme.$mode.$client
                    out=$RUN/cg.$tag.$rep
                    start_floor "$scheme" "$mode" "$client" valgrind --tool=callgrind --collect-systime=no \
                        --callgrind-out-file="$out"
                    pid=$LAST_PID
                    wait_port "$FLOOR_PORT" "$pid" 120
                    nreq 1 --show >"$RUN/answer.$tag.txt" 2>&1 ||
                        die "$tag: the first request failed: $(cat "$RUN/answer.$tag.txt")"
                    nreq "$WARM" 2>>"$RUN/nreq.log" || die "$tag: warm-up failed"
                    callgrind_control -z "$pid" >/dev/null 2>&1 || die "callgrind_control -z failed"
                    nreq "$N" 2>>"$RUN/nreq.log" || die "$tag: N requests failed"
                    callgrind_control --dump=N "$pid" >/dev/null 2>&1 || die "callgrind_control -d failed"
                    nreq $((2 * N)) 2>>"$RUN/nreq.log" || die "$tag: 2N requests failed"
                    callgrind_control --dump=2N "$pid" >/dev/null 2>&1 || die "callgrind_control -d failed"
                    i1=$(total_ir "$out.1")
                    i2=$(total_ir "$out.2")
                    [ -n "$i1" ] && [ -n "$i2" ] || die "missing dumps $out.1 $out.2"
                    per=$(((i2 - i1) / N))
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$scheme" "$mode" "$client" "$i1" "$i2" "$per" >>"$RUN/callgrind.tsv"
                    log "callgrind rep $rep $tag: $per instructions/request ($(grep -m1 'first upstream answer' "$RUN/floor-$tag.log"))"
                    [ "$rep" = 1 ] && callgrind_annotate --auto=no --inclusive=yes "$out.2" >"$RUN/$tag.inclusive.txt" 2>/dev/null
                    stop_pid "$pid"
                done
            done
        done
    done
fi

# 2. wrk, layout A.
if [ "$WRK" = 1 ]; then
    [ "$(nproc)" -ge 2 ] || die "layout A needs two CPUs"
    printf 'round\tscheme\tmode\tclient\trequests\tduration_s\trps\tfloor_cpu_s\tfloor_us_per_req\tupstream_us_per_req\tcpu1_busy_pct\tcpu1_steal_pct\terrors\n' >"$RUN/wrk.tsv"
    export WRK_METHOD=$METHOD WRK_BODY=$BODY WRK_HEADERS=$HEADERS
    for r in $(seq 1 "$ROUNDS"); do
        # The order of the clients alternates from round to round.
        order=$CLIENTS
        [ $((r % 2)) = 0 ] && order=$(echo "$CLIENTS" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
        for scheme in $SCHEMES; do
            upid=$(upid_of "$scheme")
            for mode in $MODES; do
                for client in $order; do
                    start_floor "$scheme" "$mode" "$client" taskset -c 1
                    pid=$LAST_PID
                    wait_port "$FLOOR_PORT" "$pid"
                    nreq 5 >/dev/null 2>&1 || die "$scheme/$mode/$client: smoke test failed"
                    url="http://127.0.0.1:$FLOOR_PORT$URL_PATH"
                    WRK_REPORT="" taskset -c 0 wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 5s -s "$BENCH_DIR/wrk/case.lua" "$url" >/dev/null 2>&1
                    sleep 0.3
                    p0=$(cpu_ticks "$pid") u0=$(cpu_ticks "$upid") s0=$(cpu_stat 1)
                    tag=$scheme.$mode.$client.r$r
                    WRK_REPORT="$RUN/$tag.kv" taskset -c 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s \
                        -s "$BENCH_DIR/wrk/case.lua" "$url" >"$RUN/$tag.wrk.txt" 2>&1
                    p1=$(cpu_ticks "$pid") u1=$(cpu_ticks "$upid") s1=$(cpu_stat 1)
                    stop_pid "$pid"
                    [ -s "$RUN/$tag.kv" ] || die "$tag: wrk wrote no report (see $RUN/$tag.wrk.txt)"
                    requests="" duration_us="" err_connect=0 err_read=0 err_write=0 err_status=0 err_timeout=0
                    eval "$(grep -E '^[a-z0-9_]+=[0-9.]+$' "$RUN/$tag.kv")"
                    awk -v r="$r" -v scheme="$scheme" -v mode="$mode" -v client="$client" -v n="$requests" \
                        -v d="$duration_us" -v pt="$((p1 - p0))" -v ut="$((u1 - u0))" -v hz="$CLK_TCK" -v s0="$s0" -v s1="$s1" \
                        -v errs="$((err_connect + err_read + err_write + err_status + err_timeout))" 'BEGIN {
                            split(s0, a, " "); split(s1, b, " ");
                            tot = b[1] - a[1]; idle = b[2] - a[2]; steal = b[3] - a[3];
                            busy = tot > 0 ? 100 * (tot - idle) / tot : 0; st = tot > 0 ? 100 * steal / tot : 0;
                            printf "%s\t%s\t%s\t%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%d\n", r, scheme, mode, client,
                                n, d / 1e6, n / (d / 1e6), pt / hz, 1e6 * pt / hz / n, 1e6 * ut / hz / n, busy, st, errs
                        }' >>"$RUN/wrk.tsv"
                    log "wrk r$r $scheme $mode $client: $(tail -n1 "$RUN/wrk.tsv" | awk -F'\t' '{printf "%s req/s, floor %s us/request, CPU1 busy %s%%, errors %s", $7, $9, $11, $13}')"
                done
            done
        done
    done
fi

# The report: medians per scheme, mode and client, each client's ratio to reqwest-gateway.
OUT=$BENCH_DIR/out/client-$TS.md
python3 - "$RUN" "$CLIENTS" >"$OUT" <<'PY' || die "report failed"
import csv, os, statistics, sys
run, clients = sys.argv[1], sys.argv[2].split()
print(open(os.path.join(run, "meta.md")).read())
def rows(name):
    path = os.path.join(run, name)
    return list(csv.DictReader(open(path), delimiter="\t")) if os.path.exists(path) else []
def med(rs, key):
    return statistics.median(float(r[key]) for r in rs) if rs else None
cg, wrk = rows("callgrind.tsv"), rows("wrk.tsv")
for scheme, mode in [(s, m) for s in ("http", "https") for m in ("proxy", "proxy-json")]:
    if not any(r["scheme"] == scheme and r["mode"] == mode for r in cg + wrk):
        continue
    print(f"\n### floor `{mode}`, {scheme} upstream\n")
    print("| client | instructions/request (callgrind; each rep) | CPU µs/request (wrk; median; each round) | requests/s (median) | CPU1 busy % | vs reqwest-gateway: instructions, CPU, req/s |")
    print("|---|---:|---:|---:|---:|---|")
    pick = lambda rs, c: [r for r in rs if r["scheme"] == scheme and r["mode"] == mode and r["client"] == c]
    base_c, base_w = pick(cg, "reqwest-gateway"), pick(wrk, "reqwest-gateway")
    for client in clients:
        c, w = pick(cg, client), pick(wrk, client)
        each_c = ", ".join("%.1fk" % (int(r["instr_per_req"]) / 1000) for r in c)
        each_w = ", ".join(r["floor_us_per_req"] for r in w)
        ins = f"{med(c, 'instr_per_req') / 1000:.1f}k ({each_c})" if c else "—"
        us = f"{med(w, 'floor_us_per_req'):.2f} ({each_w})" if w else "—"
        rps = f"{med(w, 'rps'):.0f}" if w else "—"
        busy = f"{med(w, 'cpu1_busy_pct'):.0f}" if w else "—"
        ratio = lambda a, b: f"{a / b:.3f}×" if a is not None and b else "—"
        vs = ", ".join([ratio(med(c, "instr_per_req"), med(base_c, "instr_per_req")),
                        ratio(med(w, "floor_us_per_req"), med(base_w, "floor_us_per_req")),
                        ratio(med(w, "rps"), med(base_w, "rps"))])
        print(f"| {client} | {ins} | {us} | {rps} | {busy} | {vs} |")
errs = sum(int(r["errors"]) for r in wrk)
print(f"\nwrk errors over all rounds: {errs}; raw: {run}")
PY
cp "$OUT" "$RUN/results.md"
cat "$OUT"
log "results: $OUT (raw: $RUN)"
