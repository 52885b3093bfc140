#!/usr/bin/env bash
# run.sh - the webhook benchmark (issue 4): AdmissionReview load over TLS
# keep-alive against bench_webhook (the real webhook server + admission code
# doing a Java injection), and in the same run the same load against nginx
# serving a static JSON body of the same size over the same TLS (same
# certificate and key). Reports requests/s, p50/p99, the ratio to nginx, and
# p99 at a fixed 1,000 requests/s (wrk 4 cannot pace, so the paced run uses
# `bench_webhook client`, open-loop, latency from the due time).
#
# Needs (Debian): apt-get install wrk nginx curl jq cmake. Installs nothing.
# Usage: bench/webhook/run.sh      (about 2.5 minutes with the defaults)
# Env: DURATION (s per wrk run, 20), PACED_DURATION (s per paced run, 30),
#      RATE (1000), WRK_THREADS (2), WRK_CONNS (16), PACED_THREADS (16),
#      WEBHOOK_THREADS (2, the operator's --webhook-threads default),
#      NGINX_WORKERS (= WEBHOOK_THREADS: the same number of serving threads), BUILD_DIR,
#      SKIP_BUILD=1, KEEP=1 (keep the work directory).
# Output: the raw outputs in a work directory, the summary JSON on stdout.
# Exit 1 when a target is missed: ratio >= 0.5, paced p99 <= 2 ms, 0 errors.
set -euo pipefail
source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-20}
PACED_DURATION=${PACED_DURATION:-30}
RATE=${RATE:-1000}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-16}
PACED_THREADS=${PACED_THREADS:-16}
WEBHOOK_THREADS=${WEBHOOK_THREADS:-2}
export WEBHOOK_THREADS
NGINX_WORKERS=${NGINX_WORKERS:-$WEBHOOK_THREADS}

bw_need wrk nginx curl jq cmake base64
BW_WORK=$(mktemp -d /tmp/bench-webhook.XXXXXX)
chmod 755 "$BW_WORK"   # nginx workers run as nobody when started by root
trap 'rc=$?; bw_cleanup; if [[ $rc == 0 && ${KEEP:-0} != 1 ]]; then rm -rf "$BW_WORK"; else
      bw_log "raw outputs kept in $BW_WORK"; fi' EXIT
bw_build
bw_log "work directory $BW_WORK, load average $(bw_load)"
LOAD_START=$(bw_load)

# ---- the webhook ---------------------------------------------------------------
bw_start_server
bw_check_answer "$BW_WORK/response.json"
chmod 644 "$BW_WORK/response.json"
RESP_BYTES=$(stat -c %s "$BW_WORK/response.json")
RSS_START=$(bw_rss_kib "$BW_SERVER_PID")
bw_log "webhook answer: $RESP_BYTES bytes, Java injection; RSS ${RSS_START} KiB"

# ---- nginx, same certificate, same body size -------------------------------------
NGINX_PORT=$(bw_free_port)
USER_LINE=""
if [[ $(id -u) == 0 ]]; then USER_LINE="user nobody nogroup;"; fi
sed -e "s#@WORK@#$BW_WORK#g" -e "s#@CERTS@#$BW_WORK/certs#g" -e "s#@PORT@#$NGINX_PORT#g" \
    -e "s#@WORKERS@#$NGINX_WORKERS#g" -e "s#@USER_LINE@#$USER_LINE#" \
    "$BW_HERE/nginx.conf.in" >"$BW_WORK/nginx.conf"
nginx -c "$BW_WORK/nginx.conf" -p "$BW_WORK" -e "$BW_WORK/nginx-error.log" \
    >"$BW_WORK/nginx.out" 2>&1 &
BW_NGINX_PID=$!
for _ in $(seq 1 50); do
    if curl -s -o /dev/null --cacert "$BW_WORK/certs/ca.crt" \
        "https://127.0.0.1:$NGINX_PORT/mutate-v1-pod"; then break; fi
    sleep 0.1
done
NGINX_BYTES=$(curl -sS --fail --cacert "$BW_WORK/certs/ca.crt" \
    -H 'Content-Type: application/json' --data-binary "@$BW_BODY" \
    -o /dev/null -w '%{size_download}' "https://127.0.0.1:$NGINX_PORT/mutate-v1-pod")
[[ $NGINX_BYTES == "$RESP_BYTES" ]] ||
    { echo "nginx answers $NGINX_BYTES bytes, the webhook $RESP_BYTES" >&2; exit 1; }
bw_log "nginx pid $BW_NGINX_PID on 127.0.0.1:$NGINX_PORT ($NGINX_WORKERS workers), $NGINX_BYTES bytes"

WEBHOOK_URL="https://127.0.0.1:$BW_PORT/mutate-v1-pod"
NGINX_URL="https://127.0.0.1:$NGINX_PORT/mutate-v1-pod"

# wrk_run NAME SCRIPT URL SECONDS: raw output in NAME.wrk, the WRKJSON object on stdout.
wrk_run() {
    local name=$1 script=$2 url=$3 secs=$4
    bw_log "wrk $name: -t$WRK_THREADS -c$WRK_CONNS -d${secs}s (load $(bw_load))"
    BODY=$BW_BODY BAD_BODY=$BW_BAD wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${secs}s" --latency \
        -s "$BW_HERE/$script" "$url" >"$BW_WORK/$name.wrk" 2>&1
    grep '^WRKJSON ' "$BW_WORK/$name.wrk" | sed 's/^WRKJSON //'
}

# paced_run NAME URL CHECK EXTRA...: the client's JSON summary on stdout.
paced_run() {
    local name=$1 url=$2 check=$3
    shift 3
    bw_log "paced $name: $RATE req/s for ${PACED_DURATION}s (load $(bw_load))"
    "$BW_BIN" client --url "$url" --cacert "$BW_WORK/certs/ca.crt" --body "$BW_BODY" \
        --rate "$RATE" --duration "$PACED_DURATION" --threads "$PACED_THREADS" \
        --warmup 2 --interval 10 --check "$check" "$@" >"$BW_WORK/$name.json" || true
    cat "$BW_WORK/$name.json"
}

# Short warm-up of both (TLS sessions, allocator), not measured.
BODY=$BW_BODY wrk -t1 -c"$WRK_CONNS" -d2s -s "$BW_HERE/post.lua" "$WEBHOOK_URL" >/dev/null 2>&1
BODY=$BW_BODY wrk -t1 -c"$WRK_CONNS" -d2s -s "$BW_HERE/post.lua" "$NGINX_URL" >/dev/null 2>&1

W=$(wrk_run webhook post.lua "$WEBHOOK_URL" "$DURATION")
N=$(wrk_run nginx post.lua "$NGINX_URL" "$DURATION")
M=$(wrk_run webhook-mixed mixed.lua "$WEBHOOK_URL" $((DURATION / 2 > 0 ? DURATION / 2 : 1)))
read -r CPU0 WAIT0 < <(bw_sched "$BW_SERVER_PID")
PW=$(paced_run paced-webhook "$WEBHOOK_URL" admission)
read -r CPU1 WAIT1 < <(bw_sched "$BW_SERVER_PID")
PN=$(paced_run paced-nginx "$NGINX_URL" status)

RSS_END=$(bw_rss_kib "$BW_SERVER_PID")
FDS_END=$(bw_fds "$BW_SERVER_PID")
LOAD_END=$(bw_load)
bw_stop_server
bw_stop_nginx
EXIT_LINE=$(grep '"event":"exit"' "$BW_WORK/server.out" || echo '{}')

SUMMARY=$(jq -n \
    --argjson w "$W" --argjson n "$N" --argjson m "$M" --argjson pw "$PW" --argjson pn "$PN" \
    --argjson exit "$EXIT_LINE" --arg load_start "$LOAD_START" --arg load_end "$LOAD_END" \
    --argjson rss_start "$RSS_START" --argjson rss_end "$RSS_END" --argjson fds "$FDS_END" \
    --argjson bytes "$RESP_BYTES" --argjson req_bytes "$(stat -c %s "$BW_BODY")" \
    --arg wrk "-t$WRK_THREADS -c$WRK_CONNS -d${DURATION}s" --argjson rate "$RATE" \
    --argjson nginx_workers "$NGINX_WORKERS" --argjson webhook_threads "$WEBHOOK_THREADS" --arg date "$(date -u +%FT%TZ)" \
    --argjson cpu_ms $((CPU1 - CPU0)) --argjson wait_ms $((WAIT1 - WAIT0)) '
  {
    date: $date, load_average_start: $load_start, load_average_end: $load_end,
    request_bytes: $req_bytes, response_bytes: $bytes, wrk: $wrk,
    webhook_threads: $webhook_threads, nginx_workers: $nginx_workers,
    webhook: {rps: $w.rps, p50_ms: $w.latency_ms.p50, p99_ms: $w.latency_ms.p99,
              max_ms: $w.latency_ms.max, errors: $w.errors},
    nginx:   {rps: $n.rps, p50_ms: $n.latency_ms.p50, p99_ms: $n.latency_ms.p99,
              max_ms: $n.latency_ms.max, errors: $n.errors},
    ratio: (if $n.rps > 0 then (($w.rps / $n.rps) * 1000 | round) / 1000 else null end),
    webhook_mixed_10pct_malformed: {rps: $m.rps, p50_ms: $m.latency_ms.p50,
              p99_ms: $m.latency_ms.p99, errors: $m.errors},
    paced_webhook: {rate: $rate, rps: $pw.rps, p50_ms: $pw.latency_corrected.p50_ms,
              p99_ms: $pw.latency_corrected.p99_ms, max_ms: $pw.latency_corrected.max_ms,
              service_p99_ms: $pw.latency_service.p99_ms, valid_errors: $pw.valid_errors_whole_run,
              sent_late_over_1ms: $pw.sent_late_over_1ms,
              server_cpu_ms: $cpu_ms, server_runq_wait_ms: $wait_ms},
    paced_nginx: {rate: $rate, rps: $pn.rps, p50_ms: $pn.latency_corrected.p50_ms,
              p99_ms: $pn.latency_corrected.p99_ms, max_ms: $pn.latency_corrected.max_ms,
              service_p99_ms: $pn.latency_service.p99_ms, errors: $pn.valid_errors_whole_run},
    webhook_rss_kib: {start: $rss_start, end: $rss_end, peak: $exit.peak_rss_kib},
    webhook_fds_end: $fds,
    webhook_server: $exit
  }
  | .targets = {
      ratio_ge_0_5: (.ratio != null and .ratio >= 0.5),
      paced_p99_le_2ms: (.paced_webhook.p99_ms != null and .paced_webhook.p99_ms <= 2),
      no_errors: ((.webhook.errors | add) == 0 and .paced_webhook.valid_errors == 0
                  and (.webhook_mixed_10pct_malformed.errors | add) == 0)
    }')
echo "$SUMMARY" | tee "$BW_WORK/summary.json"
echo "$SUMMARY" | jq -e '.targets | all' >/dev/null
