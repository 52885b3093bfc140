#!/usr/bin/env bash
# 72-watch-410.sh - fault injection 2: the watch answers 410 Gone. With the operator
# watching, kube-apiserver is stopped, etcd is compacted (physically) to its current
# revision and kube-apiserver is started again: its watch cache starts empty, so the
# operator's resume from its last resourceVersion gets 410 and it must list again.
# Changes made right after the restart, while the operator is still backing off
# (a new model, an edit of another, a deleted child of a third), must all be seen:
# nothing missed. Needs the local control plane (it stops kube-apiserver and talks to
# etcd's v3 JSON gateway on loopback).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
if [ -z "${E2E_LOCAL:-}" ] || [ -z "${E2E_ETCD_PORT:-}" ]; then
  echo "SKIPPED: needs the local control plane (KUBE_APISERVER) and its etcd"; exit 77
fi
trap 'e2e_stop_operator G; e2e_cleanup_webhooks' EXIT
NS=fault-gone
model_file() { sed "s/^  name: .*/  name: $1/" examples/minimal-otlp.yaml >"$E2E_DIR/$NS-$1.yaml"; echo "$E2E_DIR/$NS-$1.yaml"; }
etcd_revision() {
  curl -s -X POST "http://127.0.0.1:$E2E_ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'
}
gone_count() { grep -c '"resourceVersion too old, relisting"' "$E2E_DIR/operator-G.log" || true; }

e2e_start_operator G
kubectl create namespace $NS --dry-run=client -o yaml | kubectl apply -f - >/dev/null
for m in gone-a gone-b; do kubectl apply -n $NS -f "$(model_file $m)" >/dev/null; done
for m in gone-a gone-b; do
  e2e_wait 60 e2e_generation_observed $NS/$m || { e2e_fail "$m not reconciled before the fault"; exit 1; }
done
model_file gone-c >/dev/null
# unrelated writes move etcd's revision past every resourceVersion the operator has seen
for i in 1 2 3; do kubectl create configmap -n $NS "filler-$i" --from-literal=i=$i >/dev/null; done
sleep 2
before=$(gone_count)

e2e_stop_apiserver
rev=$(etcd_revision)
out=$(curl -s -X POST "http://127.0.0.1:$E2E_ETCD_PORT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}")
e2e_log "etcd compacted to revision $rev: $out"
e2e_start_apiserver
# while the operator is still reconnecting: a new model, an edit, a deleted child
kubectl apply -n $NS -f "$E2E_DIR/$NS-gone-c.yaml" >/dev/null
kubectl patch -n $NS tracingmodel gone-b --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":1410}}}}' >/dev/null
kubectl delete -n $NS service gone-a-collector --wait=false >/dev/null
t1=$(date +%s)

relisted() { [ "$(gone_count)" -gt "$before" ]; }
e2e_wait 90 relisted || { e2e_fail "no 410 relist in the operator log (\"resourceVersion too old, relisting\")"; grep '"informer"' "$E2E_DIR/operator-G.log" | tail -20 >&2; exit 1; }
e2e_log "410 answered and relisted: $(( $(gone_count) - before )) informers"
e2e_wait 90 e2e_generation_observed $NS/gone-c || { e2e_fail "the model created after the restart was missed"; exit 1; }
e2e_wait 90 kubectl get -n $NS configmap gone-c-collector || { e2e_fail "gone-c has no children"; exit 1; }
e2e_wait 90 sh -c "kubectl get -n $NS configmap gone-b-collector -o jsonpath='{.data}' | grep -q 1410" \
  || { e2e_fail "the edit made after the restart was missed"; exit 1; }
e2e_wait 90 kubectl get -n $NS service gone-a-collector || { e2e_fail "the child deleted after the restart was not recreated"; exit 1; }
e2e_log "all three changes reconciled $(( $(date +%s) - t1 ))s after the restart"
gone=$(curl -s "http://127.0.0.1:$OP_G_METRICS/metrics" | grep '^tracing_operator_watch_restarts_total{.*reason="gone"' | awk '{s+=$2} END {print s+0}')
e2e_log "watch_restarts_total{reason=gone} = $gone"
[ "$gone" -gt 0 ] || { e2e_fail "the metrics count no 410 relist"; exit 1; }
kill -0 "$OP_G_PID" || { e2e_fail "the operator died"; exit 1; }
