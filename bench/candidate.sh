#!/usr/bin/env bash
# What a slow migration candidate costs callers (issue: "a slow, failing or unreachable candidate
# changes nothing for callers", measured). One run, side by side, same machine:
#   - primary: `dialectgate serve --only medusa` on its embedded store (vendor X);
#   - candidate: a stub answering Elastic Path customers after CANDIDATE_DELAY_MS (200 ms);
#   - gateway A in front of the primary, no candidate; gateway B, the same with the candidate in
#     dual-write mode (every update and read copied to it).
# wrk sends Medusa updates (POST /admin/customers/cus_ada) and reads (GET) to A and B, alternating,
# at 1 and 16 connections; the table gives req/s, p50 and p99 and B's added latency.
#
#   bash bench/candidate.sh                  # DURATION=10 CONNS="1 16" ROUNDS=2
#   SKIP_BUILD=1 DURATION=5 bash bench/candidate.sh
# Results: bench/out/candidate-<timestamp>.md (and stdout).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
install_traps

DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 16"}
ROUNDS=${ROUNDS:-2}
CANDIDATE_DELAY_MS=${CANDIDATE_DELAY_MS:-200}
BASE_PORT=${BASE_PORT:-19180}
PRIMARY_PORT=$BASE_PORT CANDIDATE_PORT=$((BASE_PORT + 1)) A_PORT=$((BASE_PORT + 2)) B_PORT=$((BASE_PORT + 3))
TS=$(date +%Y%m%d-%H%M%S)
RUN=$BENCH_DIR/out/candidate-$TS
mkdir -p "$RUN"
REPORT=$BENCH_DIR/out/candidate-$TS.md

ensure_tools
build_gateway
assert_port_free "$PRIMARY_PORT" "$CANDIDATE_PORT" "$A_PORT" "$B_PORT"

# The slow candidate: a threaded stub answering Elastic Path's customer after the delay.
python3 -c 'import json; print(json.dumps({"data": {"type": "customer", "id": "cus_ada", "name": "Ada Lovelace", "email": "ada@example.com", "password": True}}))' >"$RUN/candidate-answer.json"
python3 "$BENCH_DIR/stub_upstream.py" "$CANDIDATE_PORT" "$CANDIDATE_DELAY_MS" "$RUN/candidate-answer.json" >"$RUN/candidate.log" 2>&1 &
CAND_PID=$!
STARTED_PIDS+=("$CAND_PID")

serve() { # NAME ARGS...: a gateway with one worker thread, at the default log level
    local name=$1
    shift
    (cd "$ROOT" && exec env TOKIO_WORKER_THREADS=1 DIALECTGATE_KEYS=dg_bench_key \
        DIALECTGATE_UPSTREAM_TOKEN=dg_demo_key DIALECTGATE_CANDIDATE_TOKEN=bench \
        "$DG_BIN" serve --admin-listen "" "$@") >>"$RUN/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}
serve primary --listen "127.0.0.1:$PRIMARY_PORT" --only medusa
PRIMARY_PID=$LAST_PID
FRONT=(--only medusa --upstream "http://127.0.0.1:$PRIMARY_PORT" --upstream-dialect medusa --credentials static)
serve a --listen "127.0.0.1:$A_PORT" "${FRONT[@]}"
A_PID=$LAST_PID
serve b --listen "127.0.0.1:$B_PORT" "${FRONT[@]}" \
    --candidate "http://127.0.0.1:$CANDIDATE_PORT" --candidate-dialect elasticpath --candidate-mode dual-write
B_PID=$LAST_PID
wait_port "$CANDIDATE_PORT" "$CAND_PID"
wait_port "$PRIMARY_PORT" "$PRIMARY_PID"
wait_port "$A_PORT" "$A_PID"
wait_port "$B_PORT" "$B_PID"

echo '{"email": "ada@example.com"}' >"$RUN/update.json"
export WRK_HEADERS="x-medusa-access-token: dg_bench_key"
results=$RUN/results.tsv
: >"$results"
measure() { # TAG PORT METHOD CONNS
    local tag=$1 port=$2 method=$3 c=$4 body=""
    [ "$method" = POST ] && body=$RUN/update.json
    local url="http://127.0.0.1:$port/admin/customers/cus_ada"
    WRK_METHOD=$method WRK_BODY=$body WRK_REPORT="" wrk -t1 -c"$c" -d2s --timeout 5s \
        -s "$BENCH_DIR/wrk/case.lua" "$url" >/dev/null 2>&1
    WRK_METHOD=$method WRK_BODY=$body WRK_REPORT="$RUN/$tag.kv" wrk -t1 -c"$c" -d"${DURATION}s" \
        --timeout 5s --latency -s "$BENCH_DIR/wrk/case.lua" "$url" >"$RUN/$tag.wrk.txt" 2>&1
    local requests duration_us p50_us p99_us err_status err_timeout err_connect err_read err_write
    eval "$(grep -E '^[a-z0-9_]+=[0-9.]+$' "$RUN/$tag.kv")"
    printf '%s\t%s\t%s\t%d\t%.0f\t%s\t%s\t%d\n' "$tag" "$method" "$c" "$requests" \
        "$(awk -v n="$requests" -v d="$duration_us" 'BEGIN { print n / (d / 1e6) }')" "$p50_us" "$p99_us" \
        "$((err_status + err_timeout + err_connect + err_read + err_write))" >>"$results"
}
for r in $(seq 1 "$ROUNDS"); do
    for c in $CONNS; do
        for method in POST GET; do
            log "round $r, $c connection(s), $method: A (no candidate), then B (slow candidate)"
            measure "a-$method-c$c-r$r" "$A_PORT" "$method" "$c"
            measure "b-$method-c$c-r$r" "$B_PORT" "$method" "$c"
        done
    done
done
{
    echo "# A slow candidate (${CANDIDATE_DELAY_MS} ms) against none, one run ($TS)"
    echo
    echo "Command: \`DURATION=$DURATION CONNS=\"$CONNS\" ROUNDS=$ROUNDS bash bench/candidate.sh\`. Primary: \`serve --only medusa\` (embedded store); A and B: one tokio worker each, default log level (info); B has \`--candidate-mode dual-write\` to a stub that answers after ${CANDIDATE_DELAY_MS} ms. Medians over $ROUNDS rounds."
    echo
    echo "| call | conns | A req/s | B req/s | A p50 µs | B p50 µs | added p50 µs | A p99 µs | B p99 µs | added p99 µs | errors (A/B) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for c in $CONNS; do
        for method in POST GET; do
            awk -F'\t' -v m="$method" -v c="$c" '
                function median(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }; return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
                $2 == m && $3 == c { side = substr($1, 1, 1); n[side]++; rps[side, n[side]] = $5; p50[side, n[side]] = $6; p99[side, n[side]] = $7; err[side] += $8 }
                END {
                    for (s in n) { for (i = 1; i <= n[s]; i++) { a[i] = rps[s, i]; b[i] = p50[s, i]; d[i] = p99[s, i] }; R[s] = median(a, n[s]); P[s] = median(b, n[s]); Q[s] = median(d, n[s]) }
                    printf "| %s | %d | %.0f | %.0f | %d | %d | %+d | %d | %d | %+d | %d/%d |\n", (m == "POST" ? "update" : "read"), c, R["a"], R["b"], P["a"], P["b"], P["b"] - P["a"], Q["a"], Q["b"], Q["b"] - Q["a"], err["a"], err["b"]
                }' "$results"
        done
    done
    echo
    echo "B's candidate calls run after B answered, through its bounded queue (candidate.queue, 1024): at this load most copies wait for, or are dropped from, the queue (counted in dialectgate_candidate_requests_total{outcome=\"dropped\"}); callers are answered either way."
} | tee "$REPORT"
