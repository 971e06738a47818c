#!/usr/bin/env bash
# A migration rehearsal on one machine (README "Migration mode"): vendor X (Medusa) and vendor Y
# (Elastic Path) are two `dialectgate serve --only …` instances on their embedded stores; a third
# gateway runs in front of X with Y as its candidate (dual-write), Medusa clients' traffic goes
# through it, and `dialectgate candidate-report` names the members Y loses.
#
#   deploy/rehearsal.sh                 # uses `dialectgate` from PATH
#   DIALECTGATE=target/debug/dialectgate deploy/rehearsal.sh
#
# Ports: PORT (18080, the gateway), PORT_X (18081), PORT_Y (18082); everything on 127.0.0.1,
# stopped on exit. Needs curl.
set -euo pipefail

BIN=${DIALECTGATE:-dialectgate}
PORT=${PORT:-18080}
X=${PORT_X:-$((PORT + 1))}
Y=${PORT_Y:-$((PORT + 2))}
WORK=$(mktemp -d)
LOG=$WORK/divergences.jsonl
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] && cat "$WORK/serve.log" >&2
    rm -rf "$WORK"
}
trap cleanup EXIT

serve() {
    "$BIN" serve --admin-listen "" "$@" >>"$WORK/serve.log" 2>&1 &
    PIDS+=($!)
}

# Vendor X and vendor Y: each speaks one dialect on its embedded store (the demo key opens it).
serve --listen "127.0.0.1:$X" --only medusa
serve --listen "127.0.0.1:$Y" --only elasticpath
# The gateway in front of X, copying every accepted update (and read) to Y in Y's dialect.
DIALECTGATE_KEYS=rehearsal_caller_key \
    DIALECTGATE_UPSTREAM_TOKEN=dg_demo_key \
    DIALECTGATE_CANDIDATE_TOKEN=dg_demo_key \
    serve --listen "127.0.0.1:$PORT" --only medusa \
    --upstream "http://127.0.0.1:$X" --upstream-dialect medusa \
    --candidate "http://127.0.0.1:$Y" --candidate-dialect elasticpath \
    --candidate-mode dual-write --candidate-log "$LOG"

for port in "$X" "$Y" "$PORT"; do
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
done

medusa() { # METHOD ID [BODY]: a Medusa admin client's call through the gateway
    curl -s -o /dev/null -w '%{http_code} ' -X "$1" "http://127.0.0.1:$PORT/admin/customers/$2" \
        -H 'x-medusa-access-token: rehearsal_caller_key' -H 'content-type: application/json' \
        ${3:+--data "$3"}
}

echo "traffic through the gateway (Medusa clients):"
medusa POST cus_ada '{"first_name": "Ada", "last_name": "King", "email": "ada.king@example.com"}'
medusa POST cus_grace '{"email": "grace.hopper@example.com"}'
medusa POST cus_alan '{"first_name": "Alan", "last_name": "Turing", "email": "alan@example.com"}'
medusa GET cus_ada
medusa GET cus_grace
medusa GET cus_alan
echo

# The candidate's copies are asynchronous: wait until every request has been compared.
for _ in $(seq 200); do
    [ "$(grep -c '"kind":"compared"' "$LOG" 2>/dev/null || true)" -ge 6 ] && break
    sleep 0.1
done
echo "what vendor Y (elasticpath) would lose:"
"$BIN" candidate-report "$LOG"
