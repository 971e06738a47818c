#!/usr/bin/env bash
# Issue #23 item 1, "measure the options side by side": instructions per body to decode a caller's
# body in each form the request path could hold it in, and to decode and check it against its
# dialect's request schema (crates/dialect/examples/parse_options.rs says what each form is).
# Each (form, body) runs under callgrind twice, N and 2N times in one process; the figure is
# (I(2N) − I(N)) / N, so start-up and schema compilation cancel out. Then the resident memory per
# form (`parse_options table`). Bodies: bench/bodies/deployed-<dialect>.json (checked against
# schemas/<dialect>/request.json) and the worst shapes of bench/memory/shapes.py at 1 MiB
# (checked against Medusa's).
#
#   bash bench/parse-options.sh            # N=2000 for the small bodies, N=4 for the shapes
#   SKIP_BUILD=1 FORMS="value doc" bash bench/parse-options.sh
# Results: bench/out/parse-options-<timestamp>.md (and stdout).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

N=${N:-2000}
N_LARGE=${N_LARGE:-4}
FORMS=${FORMS:-"value value-lax doc raw check-value check-doc"}
SHAPES=${SHAPES:-"tiny-array small-objects many-keys deep long-string"}
TS=$(date +%Y%m%d-%H%M%S)
RUN=$BENCH_DIR/out/parse-options-$TS
REPORT=$RUN.md
mkdir -p "$RUN"
BIN=$CARGO_TARGET_DIR/profiling/examples/parse_options

command -v valgrind >/dev/null || die "valgrind is needed"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building the parse_options example (profile profiling)"
    (cd "$ROOT" && CARGO_INCREMENTAL=0 cargo build --profile profiling --locked -p dialectgate-dialect \
        --example parse_options) >&2
fi

# instructions FORM SCHEMA BODY N: callgrind's total for one run of N decodes.
instructions() {
    local out=$RUN/cg.$1.$(basename "$3" .json).$4
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" run "$1" "$2" "$3" "$4" >/dev/null 2>&1 \
        || die "parse_options run $1 $3 $4 failed"
    awk '/^totals:/ { print $2 }' "$out"
}

bodies=()
for d in axim bigcommerce checkoutpage commercetools elasticpath medusa microbase shopify spree; do
    bodies+=("$ROOT/bench/bodies/deployed-$d.json:$ROOT/schemas/$d/request.json:$N")
done
for s in $SHAPES; do
    python3 "$BENCH_DIR/memory/shapes.py" "$s" 1048576 10000 >"$RUN/$s.json"
    bodies+=("$RUN/$s.json:$ROOT/schemas/medusa/request.json:$N_LARGE")
done

header="| body | bytes |"
rule="|---|---:|"
for f in $FORMS; do header+=" \`$f\` |"; rule+="---:|"; done
rows=()
files=()
for entry in "${bodies[@]}"; do
    IFS=: read -r body schema n <<<"$entry"
    files+=("$body")
    row="| $(basename "$body" .json) | $(stat -c %s "$body") |"
    for f in $FORMS; do
        one=$(instructions "$f" "$schema" "$body" "$n")
        two=$(instructions "$f" "$schema" "$body" $((2 * n)))
        row+=" $(awk -v a="$one" -v b="$two" -v n="$n" 'BEGIN { printf "%\047d", (b - a) / n }') |"
    done
    rows+=("$row")
    log "$row"
done

{
    echo "# Decoding a body: the forms side by side ($TS)"
    echo
    echo "Command: \`N=$N N_LARGE=$N_LARGE bash bench/parse-options.sh\` at $(git -C "$ROOT" rev-parse --short HEAD). Instructions per body, (I(2N) − I(N)) / N under callgrind (N=$N for the deployed bodies, $N_LARGE for the 1 MiB shapes). \`check-*\` = decode + jsonschema's is_valid on that form."
    echo
    echo "$header"
    echo "$rule"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Resident bytes one decoded copy holds (\`parse_options table\`; the borrowed forms also need the body's text, 1×, alive):"
    echo
    "$BIN" table "${files[@]}"
} | tee "$REPORT"
