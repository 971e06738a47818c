#!/usr/bin/env bash
# What a hanging migration candidate costs in memory (issue #20, item 2: "a hanging candidate holds
# the primary's answers"). One run, side by side, same machine:
#   - primary: `dialectgate serve --only medusa` on its embedded store; cus_ada is given
#     METADATA_BYTES (1 MiB) of metadata first, as METADATA_SHAPE: `strings` (default: 64-byte key
#     and value pairs) or `numbers` (lists of one-digit numbers: the most memory per byte once
#     parsed);
#   - candidate: a stub that accepts every call, reads it and never answers;
#   - gateway A in front of the primary, no candidate; gateway B, the same with the candidate in
#     reads mode (candidate.timeout_ms = TIMEOUT_MS, 5000; everything else as shipped).
# READS (30) reads of cus_ada go to A, then to B, one at a time. Each gateway's RSS (VmRSS) is
# read before the reads, right after the last answer, TIMEOUT_MS later, and once B has accounted
# for every copy (timed out or dropped, from its /metrics).
#
#   bash bench/candidate-memory.sh                       # builds the bench profile first
#   SKIP_BUILD=1 DG_BIN=target/release/dialectgate bash bench/candidate-memory.sh
# Results: bench/out/candidate-memory-<timestamp>.md (and stdout).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
install_traps

READS=${READS:-30}
METADATA_BYTES=${METADATA_BYTES:-1048576}
METADATA_SHAPE=${METADATA_SHAPE:-strings}
TIMEOUT_MS=${TIMEOUT_MS:-5000}
BASE_PORT=${BASE_PORT:-19280}
PRIMARY_PORT=$BASE_PORT CANDIDATE_PORT=$((BASE_PORT + 1)) A_PORT=$((BASE_PORT + 2)) B_PORT=$((BASE_PORT + 3))
B_ADMIN_PORT=$((BASE_PORT + 4))
TS=$(date +%Y%m%d-%H%M%S)
RUN=$BENCH_DIR/out/candidate-memory-$TS
mkdir -p "$RUN"
REPORT=$BENCH_DIR/out/candidate-memory-$TS.md

command -v python3 >/dev/null || die "python3 is needed (the candidate stub)"
command -v curl >/dev/null || die "curl is needed"
build_gateway
assert_port_free "$PRIMARY_PORT" "$CANDIDATE_PORT" "$A_PORT" "$B_PORT" "$B_ADMIN_PORT"

# The hanging candidate: reads each request, then holds the connection without answering.
python3 "$BENCH_DIR/stub_upstream.py" "$CANDIDATE_PORT" hold >"$RUN/candidate.log" 2>&1 &
CAND_PID=$!
STARTED_PIDS+=("$CAND_PID")

serve() { # NAME ARGS...: a gateway with one worker thread, at the default log level
    local name=$1
    shift
    (cd "$ROOT" && exec env TOKIO_WORKER_THREADS=1 DIALECTGATE_KEYS=dg_bench_key \
        DIALECTGATE_UPSTREAM_TOKEN=dg_demo_key DIALECTGATE_CANDIDATE_TOKEN=bench \
        DIALECTGATE__SERVER__MAX_BODY_BYTES=$((METADATA_BYTES * 2)) \
        DIALECTGATE__CANDIDATE__TIMEOUT_MS="$TIMEOUT_MS" \
        "$DG_BIN" serve "$@") >>"$RUN/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}
serve primary --admin-listen "" --listen "127.0.0.1:$PRIMARY_PORT" --only medusa
PRIMARY_PID=$LAST_PID
FRONT=(--only medusa --upstream "http://127.0.0.1:$PRIMARY_PORT" --upstream-dialect medusa --credentials static)
serve a --admin-listen "" --listen "127.0.0.1:$A_PORT" "${FRONT[@]}"
A_PID=$LAST_PID
serve b --admin-listen "127.0.0.1:$B_ADMIN_PORT" --listen "127.0.0.1:$B_PORT" "${FRONT[@]}" \
    --candidate "http://127.0.0.1:$CANDIDATE_PORT" --candidate-dialect elasticpath --candidate-mode reads
B_PID=$LAST_PID
wait_port "$CANDIDATE_PORT" "$CAND_PID"
wait_port "$PRIMARY_PORT" "$PRIMARY_PID"
wait_port "$A_PORT" "$A_PID"
wait_port "$B_PORT" "$B_PID"
wait_port "$B_ADMIN_PORT" "$B_PID"

# cus_ada's metadata, METADATA_BYTES of JSON text in all.
python3 - "$METADATA_BYTES" "$METADATA_SHAPE" >"$RUN/metadata.json" <<'PY'
import json, sys
size, shape = int(sys.argv[1]), sys.argv[2]
if shape == "strings":
    metadata = {f"key_{i:07d}": "v" * 48 for i in range(size // 64)}
elif shape == "numbers":
    metadata = {f"list_{i:03d}": [7] * 4096 for i in range(size // 8192)}
else:
    sys.exit(f"METADATA_SHAPE: strings or numbers, not {shape}")
print(json.dumps({"metadata": metadata}, separators=(",", ":")))
PY
code=$(curl -s -o "$RUN/seed.out" -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -H 'x-medusa-access-token: dg_demo_key' --data-binary "@$RUN/metadata.json" \
    "http://127.0.0.1:$PRIMARY_PORT/admin/customers/cus_ada")
[ "$code" = 200 ] || die "seeding the metadata answered $code: $(head -c 300 "$RUN/seed.out")"

rss() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
metric() { # NAME_AND_LABELS: B's value, or 0
    curl -s "http://127.0.0.1:$B_ADMIN_PORT/metrics" |
        awk -v m="$1" 'index($0, m " ") == 1 { v = $2 } END { print v + 0 }'
}
copies_accounted() {
    curl -s "http://127.0.0.1:$B_ADMIN_PORT/metrics" |
        awk '/^dialectgate_candidate_requests_total\{/ { s += $2 } END { print s + 0 }'
}
reads() { # PORT: READS reads of cus_ada, one at a time; every answer must be 200
    local i code
    for i in $(seq 1 "$READS"); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'x-medusa-access-token: dg_bench_key' \
            "http://127.0.0.1:$1/admin/customers/cus_ada")
        [ "$code" = 200 ] || die "read $i on :$1 answered $code"
    done
}

A0=$(rss "$A_PID") B0=$(rss "$B_PID")
log "A: $READS reads"
START=$(date +%s%N)
reads "$A_PORT"
A_MS=$((($(date +%s%N) - START) / 1000000))
A1=$(rss "$A_PID")
log "B: $READS reads (the candidate holds every copy)"
START=$(date +%s%N)
reads "$B_PORT"
B_MS=$((($(date +%s%N) - START) / 1000000))
B1=$(rss "$B_PID")
B1_QUEUED=$(metric dialectgate_candidate_queue_bytes)
B1_DROPPED=$(metric 'dialectgate_candidate_requests_total{mode="reads",outcome="dropped"}')
sleep "$(awk -v ms="$TIMEOUT_MS" 'BEGIN { print ms / 1000 }')"
A2=$(rss "$A_PID") B2=$(rss "$B_PID")
log "waiting until B has accounted for every copy (each held copy times out after ${TIMEOUT_MS} ms, 8 at a time)"
for _ in $(seq 1 $((READS * TIMEOUT_MS / 100 + 600))); do
    [ "$(copies_accounted)" -ge "$READS" ] && break
    sleep 0.1
done
A3=$(rss "$A_PID") B3=$(rss "$B_PID")
B3_TIMEOUT=$(metric 'dialectgate_candidate_requests_total{mode="reads",outcome="timeout"}')
B3_QUEUED=$(metric dialectgate_candidate_queue_bytes)
{
    echo "# A hanging candidate's memory cost, one run ($TS)"
    echo
    echo "Command: \`READS=$READS METADATA_BYTES=$METADATA_BYTES METADATA_SHAPE=$METADATA_SHAPE TIMEOUT_MS=$TIMEOUT_MS bash bench/candidate-memory.sh\` ($(basename "$DG_BIN"): $DG_BIN). Primary: \`serve --only medusa\` (embedded store), cus_ada with $METADATA_BYTES bytes of metadata ($METADATA_SHAPE); A and B: one tokio worker each; B has \`--candidate-mode reads\` to a stub that never answers. RSS in MiB (VmRSS)."
    echo
    echo "| gateway | before | after the last answer | +${TIMEOUT_MS} ms | all copies accounted for | $READS reads took (ms) |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| A (no candidate) | $A0 | $A1 | $A2 | $A3 | $A_MS |"
    echo "| B (hanging candidate) | $B0 | $B1 | $B2 | $B3 | $B_MS |"
    echo
    echo "B after the last answer: dialectgate_candidate_queue_bytes $B1_QUEUED, dropped $B1_DROPPED; once accounted for: timeout $B3_TIMEOUT, queue_bytes $B3_QUEUED (0 for a build without the gauge)."
} | tee "$REPORT"
