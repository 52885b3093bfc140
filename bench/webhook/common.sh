# common.sh - shell helpers shared by bench/webhook/run.sh and soak.sh (sourced,
# not run): tool checks, the Release build of bench_webhook, starting and
# stopping the webhook server process, /proc sampling. Every address is loopback.

BW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BW_HERE=$BW_ROOT/bench/webhook
BW_BUILD=${BUILD_DIR:-$BW_ROOT/build-wbench}
BW_BIN=$BW_BUILD/bench_webhook
BW_BODY=$BW_HERE/fixtures/admission-review.json
BW_BAD=$BW_HERE/fixtures/malformed.json
BW_SERVER_PID=
BW_NGINX_PID=

bw_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Needs every named tool; says how to install the missing ones.
bw_need() {
    local miss=()
    for t in "$@"; do command -v "$t" >/dev/null 2>&1 || miss+=("$t"); done
    if ((${#miss[@]})); then
        echo "missing: ${miss[*]} (Debian: apt-get install wrk nginx curl jq cmake)" >&2
        exit 2
    fi
}

# Release build of bench_webhook only (SKIP_BUILD=1 uses the existing binary).
bw_build() {
    if [[ ${SKIP_BUILD:-0} == 1 && -x $BW_BIN ]]; then return; fi
    bw_log "building bench_webhook (Release) in $BW_BUILD"
    cmake -S "$BW_ROOT" -B "$BW_BUILD" -DCMAKE_BUILD_TYPE=Release -DOP_UNIT_TESTS=OFF \
        >"$BW_WORK/cmake-configure.log" 2>&1 || { cat "$BW_WORK/cmake-configure.log" >&2; exit 1; }
    cmake --build "$BW_BUILD" -j2 --target bench_webhook >"$BW_WORK/cmake-build.log" 2>&1 ||
        { tail -40 "$BW_WORK/cmake-build.log" >&2; exit 1; }
}

# Starts the webhook server; sets BW_SERVER_PID and BW_PORT. Certificates are
# generated into $BW_WORK/certs (ca.crt, tls.crt, tls.key).
bw_start_server() {
    "$BW_BIN" serve --certs-dir "$BW_WORK/certs" --model "$BW_ROOT/examples/minimal-otlp.yaml" \
        --threads "${WEBHOOK_THREADS:-2}" >"$BW_WORK/server.out" 2>"$BW_WORK/server.err" &
    BW_SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        if grep -q '"event":"listening"' "$BW_WORK/server.out" 2>/dev/null; then break; fi
        if ! kill -0 "$BW_SERVER_PID" 2>/dev/null; then
            cat "$BW_WORK/server.err" >&2
            echo "bench_webhook serve exited" >&2
            exit 1
        fi
        sleep 0.1
    done
    BW_PORT=$(grep '"event":"listening"' "$BW_WORK/server.out" | jq -r .port)
    [[ -n $BW_PORT ]] || { echo "webhook server did not report its port" >&2; exit 1; }
    bw_log "webhook server pid $BW_SERVER_PID on 127.0.0.1:$BW_PORT"
}

# SIGTERM to the server; waits for its exit line (peak RSS) in server.out.
bw_stop_server() {
    [[ -n $BW_SERVER_PID ]] || return 0
    kill -TERM "$BW_SERVER_PID" 2>/dev/null || true
    wait "$BW_SERVER_PID" 2>/dev/null || true
    BW_SERVER_PID=
}

bw_stop_nginx() {
    [[ -n $BW_NGINX_PID ]] || return 0
    kill -TERM "$BW_NGINX_PID" 2>/dev/null || true
    wait "$BW_NGINX_PID" 2>/dev/null || true
    BW_NGINX_PID=
}

bw_cleanup() {
    bw_stop_server
    bw_stop_nginx
}

# VmRSS of a pid in KiB.
bw_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
bw_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
bw_load() { cut -d' ' -f1-3 /proc/loadavg; }
# "<cpu_ms> <runq_wait_ms>" summed over the threads of a pid (/proc/PID/task/*/schedstat:
# time on a CPU, time runnable but waiting for one). Threads that exited are not counted.
bw_sched() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null |
        awk '{r += $1; w += $2} END {printf "%d %d\n", r / 1e6, w / 1e6}'
}

# A loopback TCP port nobody listens on.
bw_free_port() {
    local p
    for p in $(shuf -i 20000-60000 -n 100); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    echo "no free port" >&2
    exit 1
}

# POSTs the fixture once; writes the answer to $1 and checks it is a real Java
# injection for the fixture's uid.
bw_check_answer() {
    local out=$1
    curl -sS --fail --cacert "$BW_WORK/certs/ca.crt" -H 'Content-Type: application/json' \
        --data-binary "@$BW_BODY" "https://127.0.0.1:$BW_PORT/mutate-v1-pod" -o "$out"
    local uid
    uid=$(jq -r .request.uid "$BW_BODY")
    jq -e --arg uid "$uid" '.response.uid == $uid and .response.allowed == true and
        .response.patchType == "JSONPatch"' "$out" >/dev/null ||
        { echo "unexpected webhook answer: $(head -c 400 "$out")" >&2; exit 1; }
    jq -r .response.patch "$out" | base64 -d | grep -q 'javaagent' ||
        { echo "the webhook answer does not inject the Java agent" >&2; exit 1; }
}
