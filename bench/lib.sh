# Shared helpers for bench/run.sh and bench/callgrind.sh (sourced, not run).
# Everything listens on 127.0.0.1 only; every process started here is killed on exit.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
: "${CARGO_TARGET_DIR:=$ROOT/target}"
# The kit's build profile (Cargo.toml [profile.profiling]): release code that keeps symbols and
# line tables, so callgrind profiles name functions.
BENCH_PROFILE=${BENCH_PROFILE:-profiling}
DG_BIN=${DG_BIN:-$CARGO_TARGET_DIR/$BENCH_PROFILE/dialectgate}
CASES_FILE=${CASES_FILE:-$BENCH_DIR/cases.tsv}
# The gateway's own upstream credential (the upstream is a fixed-response nginx: any value works).
export DIALECTGATE_UPSTREAM_TOKEN=${DIALECTGATE_UPSTREAM_TOKEN:-bench}
# The callers' key (bench/cases.tsv): the demo key opens only the embedded backend, and every
# gateway here forwards to a real (fixed-response) upstream.
export DIALECTGATE_KEYS=${DIALECTGATE_KEYS:-dg_bench_key}
# nginx's idle upstream connections (its `keepalive`). 64 as in the first measurements; the
# gateway keeps up to 1,024 idle but uses at most server.max_working (128) at once.
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-64}

STARTED_PIDS=()
SERVE_ENV=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Kills (by pid) every process this script started. Installed as the EXIT trap.
cleanup() {
    local p
    for p in "${STARTED_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for _ in $(seq 1 50); do
        local alive=0
        for p in "${STARTED_PIDS[@]}"; do
            kill -0 "$p" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    for p in "${STARTED_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    STARTED_PIDS=()
}
# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reaps it and forgets it (so the exit trap
# never signals a pid that the system may have reused).
stop_pid() {
    local pid=$1 p keep=()
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${STARTED_PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    STARTED_PIDS=("${keep[@]}")
}
install_traps() {
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

# Installs the missing tools from Debian's packages (run as root on a fresh machine).
ensure_tools() {
    local need=()
    command -v wrk >/dev/null || need+=(wrk)
    command -v nginx >/dev/null || need+=(nginx-light)
    # The nginx + Lua peer (bench/nginx/lua.conf.in): OpenResty's module and lua-cjson, from Debian.
    [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ] || need+=(libnginx-mod-http-lua)
    [ -e /usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so ] || need+=(lua-cjson)
    command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || need+=(valgrind)
    command -v python3 >/dev/null || need+=(python3)
    command -v taskset >/dev/null || need+=(util-linux)
    if [ "${#need[@]}" -gt 0 ]; then
        [ "$(id -u)" = 0 ] || die "missing ${need[*]}: run as root, or install them first"
        log "installing ${need[*]} (apt-get update once, then apt-get install)"
        apt-get update -q >/dev/null || die "apt-get update failed"
        # Keep the package from starting the system nginx service on :80 (only loopback
        # processes we start ourselves take part in the benchmark).
        local made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            made_policy=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
        local rc=$?
        [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
        [ "$rc" = 0 ] || die "apt-get install ${need[*]} failed"
    fi
}

# Builds the gateway with the kit's profile (SKIP_BUILD=1 to use an existing $DG_BIN).
build_gateway() {
    if [ "${SKIP_BUILD:-0}" = 1 ]; then
        [ -x "$DG_BIN" ] || die "SKIP_BUILD=1 but $DG_BIN does not exist"
        return
    fi
    command -v cargo >/dev/null || die "cargo not found: the Rust toolchain is a prerequisite (see README)"
    log "building the gateway (profile $BENCH_PROFILE) into $CARGO_TARGET_DIR"
    (cd "$ROOT" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR" CARGO_INCREMENTAL=0 \
        cargo build --profile "$BENCH_PROFILE" --locked --bin dialectgate) >&2 ||
        die "cargo build failed"
}

# Fills the nginx templates for the ports in use into $RUN.
render_nginx() {
    mkdir -p "$RUN/tmp"
    local f
    for f in upstream proxy lua; do
        sed -e "s|@RUN@|$RUN|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
            -e "s|@PROXY_PORT@|$PROXY_PORT|g" -e "s|@KEEPALIVE@|$NGINX_KEEPALIVE|g" \
            -e "s|@LUA_PORT@|${LUA_PORT:-0}|g" \
            "$BENCH_DIR/nginx/$f.conf.in" >"$RUN/$f.conf"
    done
    if [ -n "${UPSTREAM2_PORT:-}" ]; then
        sed -e "s|@RUN@|$RUN|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM2_PORT|g" \
            -e "s|upstream\.pid|upstream2.pid|; s|upstream\.error\.log|upstream2.error.log|; s|upstream-body|upstream2-body|" \
            "$BENCH_DIR/nginx/upstream.conf.in" >"$RUN/upstream2.conf"
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

assert_port_free() {
    local p
    for p in "$@"; do
        port_open "$p" && die "127.0.0.1:$p is already in use (set BASE_PORT=...)"
    done
    return 0
}

# wait_port PORT PID SECONDS: waits until PORT accepts connections while PID lives.
wait_port() {
    local port=$1 pid=$2 secs=${3:-20} i
    for i in $(seq 1 $((secs * 10))); do
        port_open "$port" && return 0
        kill -0 "$pid" 2>/dev/null || die "process $pid (for :$port) exited; see the logs in $RUN"
        sleep 0.1
    done
    die "nothing listens on :$port after ${secs}s; see the logs in $RUN"
}

# start_nginx NAME CONF [WRAPPER...]: nginx in the foreground of a background job (one process).
# Sets LAST_PID.
start_nginx() {
    local name=$1 conf=$2
    shift 2
    "$@" nginx -p "$RUN/" -e "$RUN/$name.error.log" -c "$conf" >"$RUN/$name.out.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# raise_fd_limit: room for a thousand connections and more (wrk, the servers under test); where the
# hard limit is lower, as high as it goes. Sets CLK_TCK (the kernel's clock ticks per second, for
# CPU times read from /proc).
raise_fd_limit() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
    CLK_TCK=$(getconf CLK_TCK)
}

# start_gateway NAME PORT UPSTREAM_DIALECT [WRAPPER...]: the gateway, one tokio worker thread,
# RUST_LOG=warn (no per-request info line), static credentials (DIALECTGATE_KEYS), forwarding to the
# fixed-response upstream. Extra flags in GW_EXTRA_ARGS (e.g. "--mode lenient"). Sets LAST_PID.
# GW_RUNTIME=default leaves TOKIO_WORKER_THREADS unset, so the gateway picks its runtime as shipped
# (current-thread when pinned to one CPU, src/runtime.rs); otherwise TOKIO_WORKER_THREADS=1 (a
# one-worker multi-thread runtime, the figure every earlier run measured).
start_gateway() {
    local name=$1 port=$2 updialect=$3
    shift 3
    local workers=(TOKIO_WORKER_THREADS=1)
    [ "${GW_RUNTIME:-}" = default ] && workers=()
    # shellcheck disable=SC2086
    (cd "$ROOT" && exec env -u TOKIO_WORKER_THREADS RUST_LOG="${GW_RUST_LOG:-warn}" "${workers[@]}" \
        DIALECTGATE_UPSTREAM_TOKEN="$DIALECTGATE_UPSTREAM_TOKEN" DIALECTGATE_KEYS="$DIALECTGATE_KEYS" \
        "$@" "$DG_BIN" serve --listen "127.0.0.1:$port" --admin-listen "" \
        --upstream "http://127.0.0.1:$UPSTREAM_PORT" --upstream-dialect "$updialect" \
        --credentials static ${GW_EXTRA_ARGS:-}) >>"$RUN/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# serve_gateway NAME ARGS...: `dialectgate serve ARGS` with one worker thread, at the default log
# level, the bench's caller key, upstream and candidate credentials, and any DIALECTGATE__… settings
# in the array SERVE_ENV; its output in $RUN/NAME.log. Sets LAST_PID.
serve_gateway() {
    local name=$1
    shift
    (cd "$ROOT" && exec env TOKIO_WORKER_THREADS=1 DIALECTGATE_KEYS=dg_bench_key \
        DIALECTGATE_UPSTREAM_TOKEN=dg_demo_key DIALECTGATE_CANDIDATE_TOKEN=bench \
        "${SERVE_ENV[@]}" "$DG_BIN" serve "$@") >>"$RUN/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# add_cases FILE [KEEP]: appends FILE's cases (cases.tsv's columns) to the parallel arrays C_NAME,
# C_TARGET, ... (comments skipped). CASES="a b" keeps only the named cases, and the cases whose
# target is one of the words in KEEP. The optional ninth column, C_EXPECT, is a string every
# answer's body must hold (bench/nreq.py --expect): a dialect that answers a refusal with a 2xx
# (Shopify's userErrors, MicroBase's "ok": false) is caught by it.
add_cases() {
    local keep=" ${2:-} " name target dialect updialect method path headers body expect
    while IFS=$'\t' read -r name target dialect updialect method path headers body expect; do
        case "$name" in '' | '#'*) continue ;; esac
        if [ -n "${CASES:-}" ] && [[ "$keep" != *" $target "* ]]; then
            case " $CASES " in *" $name "*) ;; *) continue ;; esac
        fi
        C_NAME+=("$name") C_TARGET+=("$target") C_DIALECT+=("$dialect") C_UPDIALECT+=("$updialect")
        C_METHOD+=("$method") C_PATH+=("$path") C_HEADERS+=("$headers") C_BODY+=("$BENCH_DIR/bodies/$body")
        C_EXPECT+=("${expect:-}")
    done <"$1"
}

# Reads bench/cases.tsv into the parallel arrays (add_cases). CASES="a b" keeps only the named
# cases (direct and nginx are always kept).
load_cases() {
    C_NAME=() C_TARGET=() C_DIALECT=() C_UPDIALECT=() C_METHOD=() C_PATH=() C_HEADERS=() C_BODY=() C_EXPECT=()
    add_cases "$CASES_FILE" "upstream proxy"
    [ "${#C_NAME[@]}" -gt 0 ] || die "no cases in $CASES_FILE"
}

# nreq_args INDEX: bench/nreq.py's arguments after PORT and COUNT for case INDEX.
nreq_args() {
    local i=$1
    NREQ_ARGS=("${C_METHOD[$i]}" "${C_PATH[$i]}" "${C_BODY[$i]}" "${C_HEADERS[$i]}")
    [ -n "${C_EXPECT[$i]}" ] && NREQ_ARGS+=(--expect "${C_EXPECT[$i]}")
    return 0
}

# Checks every gateway case's body offline, in strict mode, exactly as the gateway will
# translate it (caller dialect -> upstream dialect). A refused body stops the run.
check_bodies() {
    local i out
    for i in "${!C_NAME[@]}"; do
        [ "${C_DIALECT[$i]}" = - ] && continue
        if ! out=$(cd "$ROOT" && "$DG_BIN" translate --from "${C_DIALECT[$i]}" --to "${C_UPDIALECT[$i]}" \
            --id cus_ada "${C_BODY[$i]}" 2>&1); then
            die "${C_NAME[$i]}: $(basename "${C_BODY[$i]}") is refused in strict mode (${C_DIALECT[$i]} -> ${C_UPDIALECT[$i]}): $out"
        fi
        log "body ok (strict): ${C_NAME[$i]}: $(basename "${C_BODY[$i]}") $(wc -c <"${C_BODY[$i]}") B, ${C_DIALECT[$i]} -> ${C_UPDIALECT[$i]}"
    done
}

# /proc readers. utime+stime of the whole process (all threads), in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# utime (user space) alone, in clock ticks.
user_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12}'; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Resets VmHWM to the current RSS, so the next reading is the peak of the next run only.
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
# cpu1 line of /proc/stat: "total idle steal" in ticks (idle includes iowait).
cpu_stat() { awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $5 + $6, $9}' /proc/stat; }

# Tcp ActiveOpens (connect() calls, machine-wide) from /proc/net/snmp. During a run, the delta
# minus wrk's own connections = the connections the proxy opened to the upstream.
tcp_active_opens() {
    awk '$1 == "Tcp:" { if (!col) { for (i = 2; i <= NF; i++) if ($i == "ActiveOpens") col = i } else { print $col; exit } }' /proc/net/snmp
}

machine_summary() {
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "- os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "- tools: $(nginx -v 2>&1 | sed 's/.*: //'), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null), $(valgrind --version 2>/dev/null), $(rustc --version 2>/dev/null)"
    local src
    if [ -n "${DG_SOURCE_LABEL:-}" ]; then
        src=$DG_SOURCE_LABEL
    elif src=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null); then
        (cd "$ROOT" && git diff --quiet HEAD -- crates src Cargo.toml Cargo.lock config schemas) || src="$src + uncommitted changes"
    else
        src="not a git checkout"
    fi
    echo "- gateway: $DG_BIN (profile $BENCH_PROFILE), source: $src"
    echo "- load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
}
