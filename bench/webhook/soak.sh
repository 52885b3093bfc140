#!/usr/bin/env bash
# soak.sh - the webhook soak (issue 7): SOAK_SECONDS (600) at RATE (1,000)
# AdmissionReviews/s over TLS keep-alive, BAD_PERCENT (10) of them malformed
# (truncated JSON), paced open-loop by `bench_webhook client`. The server's RSS
# (VmRSS) and open file descriptors are sampled every SAMPLE_S (10) seconds
# into soak.csv. Verdict (exit 1 when one fails):
#   - 0 errors on valid requests (HTTP 200, own uid, allowed, a JSONPatch), and
#     every malformed request admitted with HTTP 200 (the pod webhook never blocks);
#   - RSS flat: mean RSS of the last window vs the second window (a window is
#     max(SAMPLE_S, SOAK_SECONDS/10), i.e. minute 2 vs the last minute by
#     default) grows by less than 10 % or less than 1 MiB;
#   - file descriptors flat: the last loaded sample has no more than the first
#     loaded one, and the idle server after the run no more than before it.
# Latency figures skip the first SAMPLE_S seconds (connection set-up); error
# counts cover the whole run. Row 1 of soak.csv is the idle server before the
# load, the last row the idle server after it.
#
# Needs (Debian): apt-get install curl jq cmake. Installs nothing.
# Usage: bench/webhook/soak.sh          (10 minutes; run it in the background)
# Env: SOAK_SECONDS, RATE, BAD_PERCENT, SAMPLE_S, PACED_THREADS (16), BUILD_DIR,
#      SKIP_BUILD=1, OUT_DIR (where soak.csv, client.json, summary.json go;
#      default a new /tmp/bench-webhook-soak.* directory, kept).
set -euo pipefail
source "$(dirname "$0")/common.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
RATE=${RATE:-1000}
BAD_PERCENT=${BAD_PERCENT:-10}
SAMPLE_S=${SAMPLE_S:-10}
PACED_THREADS=${PACED_THREADS:-16}

bw_need curl jq cmake base64
BW_WORK=${OUT_DIR:-$(mktemp -d /tmp/bench-webhook-soak.XXXXXX)}
mkdir -p "$BW_WORK"
CLIENT_PID=
trap 'if [[ -n $CLIENT_PID ]]; then kill -TERM "$CLIENT_PID" 2>/dev/null || true; fi; bw_cleanup' EXIT
bw_build
bw_start_server
bw_check_answer "$BW_WORK/response.json"
PID=$BW_SERVER_PID
LOAD_START=$(bw_load)
bw_log "soak: ${SOAK_SECONDS}s at $RATE req/s ($BAD_PERCENT% malformed), sampling every ${SAMPLE_S}s; load $LOAD_START"

CSV=$BW_WORK/soak.csv
echo "t_s,rss_kib,fds,threads,load1,cpu_ms,runq_wait_ms" >"$CSV"
START=$(date +%s.%N)
sample() {
    local t
    t=$(awk -v s="$START" -v n="$(date +%s.%N)" 'BEGIN {printf "%.0f", n - s}')
    local thr
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
    local sch
    sch=$(bw_sched "$PID")
    echo "$t,$(bw_rss_kib "$PID"),$(bw_fds "$PID"),$thr,$(cut -d' ' -f1 /proc/loadavg),${sch/ /,}" \
        >>"$CSV"
}
sample   # t=0: the idle server, before the load
"$BW_BIN" client --url "https://127.0.0.1:$BW_PORT/mutate-v1-pod" \
    --cacert "$BW_WORK/certs/ca.crt" --body "$BW_BODY" --bad-body "$BW_BAD" \
    --bad-percent "$BAD_PERCENT" --rate "$RATE" --duration "$SOAK_SECONDS" \
    --threads "$PACED_THREADS" --interval 60 --warmup "$SAMPLE_S" --check admission \
    >"$BW_WORK/client.json" 2>"$BW_WORK/client.err" &
CLIENT_PID=$!
k=1
while kill -0 "$CLIENT_PID" 2>/dev/null; do
    # sleep until the next multiple of SAMPLE_S since START
    next=$(awk -v s="$START" -v k="$k" -v p="$SAMPLE_S" -v n="$(date +%s.%N)" \
        'BEGIN {d = s + k * p - n; if (d < 0) d = 0; printf "%.3f", d}')
    sleep "$next" & wait $!   # a signal to this script is handled at once
    k=$((k + 1))
    if kill -0 "$CLIENT_PID" 2>/dev/null; then sample; fi
    if ((k % 6 == 0)); then bw_log "t=$(tail -1 "$CSV")"; fi
done
CLIENT_RC=0
wait "$CLIENT_PID" || CLIENT_RC=$?
CLIENT_PID=
sample   # after the load: what the idle server keeps
LOAD_END=$(bw_load)
bw_stop_server
EXIT_LINE=$(grep '"event":"exit"' "$BW_WORK/server.out" || echo '{}')
[[ -s $BW_WORK/client.json ]] || { cat "$BW_WORK/client.err" >&2; echo "client failed" >&2; exit 1; }

# RSS windows: second window and last window of the loaded period.
WIN=$(( SAMPLE_S > SOAK_SECONDS / 10 ? SAMPLE_S : SOAK_SECONDS / 10 ))
RSS=$(awk -F, -v w="$WIN" -v T="$SOAK_SECONDS" 'NR > 1 {
        n++; t[n] = $1; r[n] = $2; f[n] = $3; c[n] = $6; q[n] = $7
    }
    END {
        # row 1: idle before the load; the last row: idle after it
        last = n - 1
        min = max = r[2]
        for (i = 2; i <= last; i++) {
            if (r[i] > max) max = r[i]
            if (r[i] < min) min = r[i]
            if (t[i] >= w && t[i] < 2 * w) { s2 += r[i]; c2++ }
            if (t[i] >= T - w) { sl += r[i]; cl++ }
            if (f[i] > fmax) fmax = f[i]
        }
        m2 = c2 ? s2 / c2 : 0; ml = cl ? sl / cl : 0
        printf "{\"samples\":%d,\"idle_before_kib\":%d,\"first_kib\":%d,\"last_kib\":%d,", \
            last - 1, r[1], r[2], r[last]
        printf "\"min_kib\":%d,\"max_kib\":%d,", min, max
        printf "\"window_s\":%d,\"window2_mean_kib\":%.0f,\"last_window_mean_kib\":%.0f,", w, m2, ml
        printf "\"growth_kib\":%.0f,\"growth_pct\":%.2f,\"idle_after_kib\":%d,", \
            ml - m2, m2 ? (ml - m2) * 100 / m2 : 0, r[n]
        printf "\"server_cpu_ms\":%d,\"server_runq_wait_ms\":%d,\"loaded_s\":%d,", \
            c[last] - c[1], q[last] - q[1], t[last] - t[1]
        printf "\"fds_idle_before\":%d,\"fds_first\":%d,\"fds_last\":%d,\"fds_max\":%d,", \
            f[1], f[2], f[last], fmax
        printf "\"fds_idle_after\":%d}", f[n]
    }' "$CSV")

SUMMARY=$(jq -n --slurpfile c "$BW_WORK/client.json" --argjson rss "$RSS" \
    --argjson exit "$EXIT_LINE" --arg load_start "$LOAD_START" --arg load_end "$LOAD_END" \
    --arg csv "$CSV" --argjson secs "$SOAK_SECONDS" --argjson rate "$RATE" \
    --argjson client_rc "$CLIENT_RC" --arg date "$(date -u +%FT%TZ)" '
  ($c[0]) as $c |
  {
    date: $date, seconds: $secs, rate: $rate, load_average_start: $load_start,
    load_average_end: $load_end, csv: $csv,
    requests: $c.requests_whole_run, achieved_rps_after_warmup: $c.rps,
    valid: $c.valid, malformed: $c.malformed, warmup_s: $c.warmup_s,
    valid_errors: $c.valid_errors_whole_run, malformed_errors: $c.malformed_errors,
    first_errors: $c.first_errors,
    latency_ms: {p50: $c.latency_corrected.p50_ms, p99: $c.latency_corrected.p99_ms,
                 p999: $c.latency_corrected.p999_ms, max: $c.latency_corrected.max_ms,
                 service_p99: $c.latency_service.p99_ms},
    p99_ms_per_minute: [$c.series[] | .latency_corrected.p99_ms],
    rss: $rss, server: $exit, client_exit: $client_rc
  }
  | .criteria = {
      zero_valid_errors: (.valid_errors == 0 and .client_exit == 0),
      malformed_all_admitted: (.malformed_errors == 0),
      all_requests_sent: (.requests >= ($secs * $rate * 0.999 | floor)),
      rss_flat: (.rss.growth_kib < 1024 or .rss.growth_pct < 10),
      fds_flat: (.rss.fds_last <= .rss.fds_first and .rss.fds_idle_after <= .rss.fds_idle_before)
    }
  | .pass = (.criteria | all)')
echo "$SUMMARY" | tee "$BW_WORK/summary.json"
bw_log "soak outputs in $BW_WORK"
echo "$SUMMARY" | jq -e .pass >/dev/null
