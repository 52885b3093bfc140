#!/usr/bin/env bash
# soak.sh - controller soak against a real API server: 1,000 TracingModels edited in a
# loop for SOAK_SECONDS (default 600), the operator's RSS and thread count sampled
# every 10 s.
#
#   KUBE_APISERVER=/path/kube-apiserver OP_BIN=build/tracing-operator bench/controller/soak.sh
#   (or KUBECONFIG=... for an existing cluster; loopback only either way)
#
# Phases: start a local control plane (e2e/lib.sh; no kube-controller-manager, so the
# collectors' Deployments get no pods) unless KUBECONFIG is set; start the operator
# (webhook off: this measures the controller); create SOAK_MODELS (1,000) minimal-otlp
# models over 10 namespaces and wait until every one is reconciled; then edit models
# (spec.collector.batch.sendBatchSize, round robin) at SOAK_RATE edits/s (default 8)
# through `kubectl proxy` with one keep-alive connection, for SOAK_SECONDS; stop
# editing and wait for the work queue to drain and every status.observedGeneration to
# reach metadata.generation.
# Output (SOAK_OUT, default a new /tmp/tracing-soak.* dir): samples.csv
# (t_s,rss_kib,threads,queue_depth,edits,reconciles), operator.log, summary.txt.
# Criteria (exit 1 when missed): RSS growth from the end of warm-up (SOAK_WARMUP,
# default 120 s of editing) to the end < 10% or < 2 MiB; thread count constant after
# warm-up; queue drained and every generation observed within 60 s of the last edit.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
. "$root/e2e/lib.sh"
export E2E_ROOT=$root
OP_BIN=${OP_BIN:-$root/build/tracing-operator}
MODELS=${SOAK_MODELS:-1000} SECONDS_=${SOAK_SECONDS:-600} RATE=${SOAK_RATE:-8} WARMUP=${SOAK_WARMUP:-120}
N_NS=10
[ -x "$OP_BIN" ] || { echo "soak: FAIL: $OP_BIN not built"; exit 1; }
if [ -z "${KUBECONFIG:-}" ] && [ -z "${KUBE_APISERVER:-}" ]; then
  echo "soak: skipped (no API server): set KUBE_APISERVER or KUBECONFIG"; exit 0
fi
OUT=${SOAK_OUT:-$(mktemp -d /tmp/tracing-soak.XXXXXX)}; mkdir -p "$OUT"
E2E_DIR=$OUT; export E2E_DIR
log() { printf 'soak: %s\n' "$*" | tee -a "$OUT/summary.txt" >&2; }
OP_PID= PROXY_PID= SAMPLER_PID= EDITOR_PID=
cleanup() {
  for p in $EDITOR_PID $SAMPLER_PID $PROXY_PID; do kill "$p" 2>/dev/null; done
  [ -n "$OP_PID" ] && { kill -TERM "$OP_PID" 2>/dev/null; sleep 1; kill -9 "$OP_PID" 2>/dev/null; }
  [ -n "${SOAK_LOCAL:-}" ] && e2e_stop_control_plane
}
trap cleanup EXIT
# lib.sh's kube-apiserver has a /24 Service range (253 ClusterIPs): one Service per
# model needs more. Same flags otherwise.
e2e_start_apiserver() {
  local D=$E2E_DIR P=$E2E_DIR/pki
  "$KUBE_APISERVER" --etcd-servers="http://127.0.0.1:$E2E_ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$E2E_API_PORT" \
    --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
    --token-auth-file="$D/tokens.csv" \
    --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --authorization-mode=Node,RBAC --service-cluster-ip-range=10.0.0.0/16 \
    --endpoint-reconciler-type=none --cert-dir="$D/kas-certs" >>"$D/kas.log" 2>&1 &
  echo $! >"$D/kas.pid"
  e2e_wait 90 e2e_apiserver_ready || { echo "soak: kube-apiserver did not become ready (see $D/kas.log)" >&2; return 1; }
}
if [ -z "${KUBECONFIG:-}" ]; then
  unset KUBE_CONTROLLER_MANAGER
  log "starting etcd + kube-apiserver in $OUT"
  e2e_start_control_plane || exit 1
  SOAK_LOCAL=1
fi

metrics=$(e2e_free_port) probe=$(e2e_free_port)
kubectl create namespace tracing-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
"$OP_BIN" run --kubeconfig "$KUBECONFIG" --install-crds --operator-namespace tracing-system \
  --health-probe-bind-address "127.0.0.1:$probe" --metrics-bind-address "127.0.0.1:$metrics" \
  --webhook-bind-address 0 --log-level info >"$OUT/operator.log" 2>&1 &
OP_PID=$!
e2e_wait 60 curl -sf "http://127.0.0.1:$probe/readyz" || { log "FAIL: the operator did not become ready"; tail -20 "$OUT/operator.log" >&2; exit 1; }
e2e_wait 60 kubectl get crd tracingmodels.tracemodel.dev >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/tracingmodels.tracemodel.dev >/dev/null

metric() { curl -s "http://127.0.0.1:$metrics/metrics" | awk -v m="$1" '$1 == m { print $2; exit }'; }
reconciles() { curl -s "http://127.0.0.1:$metrics/metrics" | awk '/^tracing_operator_reconcile_total\{kind="TracingModel"/ { s += $2 } END { print s + 0 }'; }
proc() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$OP_PID/status"; }
# all_observed: prints "observed/total"; true when every model's generation is observed
all_observed() {
  kubectl get tracingmodels -A -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = sum(1 for m in items if m.get("status", {}).get("observedGeneration") == m["metadata"]["generation"])
print("%d/%d" % (ok, len(items))); sys.exit(0 if ok == len(items) and items else 1)'
}

# ---- 1,000 models ----
t0=$(date +%s)
for ((n = 0; n < N_NS; n++)); do
  kubectl create namespace "soak-$n" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  for ((i = n; i < MODELS; i += N_NS)); do
    printf -- '---\n'; sed "s/^  name: .*/  name: m-$i\n  namespace: soak-$n/" "$root/examples/minimal-otlp.yaml"
  done >"$OUT/models-$n.yaml"
  kubectl create -f "$OUT/models-$n.yaml" >/dev/null || { log "FAIL: cannot create the models of soak-$n"; exit 1; }
done
log "created $MODELS models in $(( $(date +%s) - t0 ))s"
converged() { all_observed >"$OUT/observed.txt"; }
e2e_wait 600 converged || { log "FAIL: models not reconciled after 600 s: $(cat "$OUT/observed.txt")"; exit 1; }
log "all $MODELS reconciled $(( $(date +%s) - t0 ))s after the first create; RSS $(proc VmRSS) KiB, $(proc Threads) threads, $(metric tracing_operator_objects_cached\{cache=\"children\"\}) children cached"

# ---- the edit loop ----
pport=$(e2e_free_port)
kubectl proxy --address 127.0.0.1 --port "$pport" >"$OUT/proxy.log" 2>&1 &
PROXY_PID=$!
e2e_wait 30 curl -sf "http://127.0.0.1:$pport/version" || { log "FAIL: kubectl proxy did not start"; exit 1; }
cat >"$OUT/editor.py" <<'PY'
import http.client, json, sys, time
port, models, n_ns, rate, seconds, counter = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                             float(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
t0 = time.time(); n = fails = 0
while time.time() - t0 < seconds:
    due = t0 + n / rate
    now = time.time()
    if due > now:
        time.sleep(due - now)
    i = n % models
    body = json.dumps({"spec": {"collector": {"batch": {"sendBatchSize": 100 + (n // models + i) % 900}}}})
    path = "/apis/tracemodel.dev/v1alpha1/namespaces/soak-%d/tracingmodels/m-%d" % (i % n_ns, i)
    try:
        c.request("PATCH", path, body, {"Content-Type": "application/merge-patch+json"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            fails += 1
    except Exception:
        fails += 1
        c.close(); c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n += 1
    if n % 50 == 0:
        open(counter, "w").write("%d %d\n" % (n, fails))
open(counter, "w").write("%d %d\n" % (n, fails))
PY
echo "0 0" >"$OUT/edits.txt"
python3 "$OUT/editor.py" "$pport" "$MODELS" "$N_NS" "$RATE" "$SECONDS_" "$OUT/edits.txt" &
EDITOR_PID=$!
start=$(date +%s)
echo "t_s,rss_kib,threads,queue_depth,edits,reconciles" >"$OUT/samples.csv"
( while :; do
    printf '%s,%s,%s,%s,%s,%s\n' $(( $(date +%s) - start )) "$(proc VmRSS)" "$(proc Threads)" \
      "$(metric tracing_operator_workqueue_depth)" "$(cut -d' ' -f1 "$OUT/edits.txt")" "$(reconciles)"
    sleep 10
  done ) >>"$OUT/samples.csv" &
SAMPLER_PID=$!
log "editing at $RATE/s for ${SECONDS_}s (samples every 10 s in $OUT/samples.csv)"
wait "$EDITOR_PID"; EDITOR_PID=
t_end=$(date +%s)
read -r edits edit_fails <"$OUT/edits.txt"
log "edits: $edits sent, $edit_fails failed; operator warnings: $(grep -c '"level":"warn"' "$OUT/operator.log" || true)"
kill -0 "$OP_PID" 2>/dev/null || { log "FAIL: the operator died"; exit 1; }

# ---- drain ----
drained() { [ "$(metric tracing_operator_workqueue_depth)" = 0 ] && converged; }
e2e_wait 60 drained; drain_rc=$?
drain_s=$(( $(date +%s) - t_end ))
sleep 10   # one more sample after the drain
kill "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=
log "queue depth $(metric tracing_operator_workqueue_depth), generations observed $(cat "$OUT/observed.txt") ${drain_s}s after the last edit"

# ---- verdict ----
python3 - "$OUT/samples.csv" "$WARMUP" "$drain_rc" "$drain_s" "$edit_fails" <<'PY' | tee -a "$OUT/summary.txt"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["rss_kib"]]
warm, drain_rc, drain_s, edit_fails = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
after = [r for r in rows if int(r["t_s"]) >= warm]
base, last = int(after[0]["rss_kib"]), int(rows[-1]["rss_kib"])
peak = max(int(r["rss_kib"]) for r in rows)
threads = sorted({int(r["threads"]) for r in after})
depth_max = max(int(r["queue_depth"] or 0) for r in rows)
growth = last - base
ok_rss = growth < 2048 or growth < base * 0.10
ok_thr = len(threads) == 1
ok_drain = drain_rc == 0
print("soak: samples %d over %ss; RSS at warm-up end (%ds) %d KiB, at the end %d KiB (growth %+d KiB, %+.1f%%), peak %d KiB"
      % (len(rows), rows[-1]["t_s"], warm, base, last, growth, 100.0 * growth / base, peak))
print("soak: threads after warm-up %s; max queue depth sampled %d; reconciles %s" % (threads, depth_max, rows[-1]["reconciles"]))
print("soak: queue drained and all generations observed: %s (%ds after the last edit)" % ("yes" if ok_drain else "NO", drain_s))
print("soak: RESULT %s (RSS growth %s, threads %s, drain %s, edit failures %d)" % (
    "PASS" if ok_rss and ok_thr and ok_drain and edit_fails == 0 else "FAIL",
    "ok" if ok_rss else "TOO HIGH", "constant" if ok_thr else "CHANGED", "ok" if ok_drain else "TIMEOUT", edit_fails))
sys.exit(0 if ok_rss and ok_thr and ok_drain and edit_fails == 0 else 1)
PY
