#!/usr/bin/env bash
# 71-apiserver-down-30s.sh - fault injection 1: kube-apiserver stopped for 30 s and
# restarted. Work queued just before the stop (a new model, an edit of another) is
# completed afterwards, the operator keeps running (watches resume, no restart), a
# model created after the restart is reconciled, and no child exists twice: per kind,
# the objects labelled tracemodel.dev/model=<model> are exactly what `render` prints.
# Needs the local control plane (it stops kube-apiserver).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
if [ -z "${E2E_LOCAL:-}" ]; then echo "SKIPPED: needs the local control plane (KUBE_APISERVER)"; exit 77; fi
trap 'e2e_stop_operator D; e2e_cleanup_webhooks' EXIT
NS=fault-down DOWN_S=${E2E_DOWN_SECONDS:-30}

# model_file NAME: minimal-otlp.yaml renamed to NAME (path on stdout).
model_file() { sed "s/^  name: .*/  name: $1/" examples/minimal-otlp.yaml >"$E2E_DIR/$NS-$1.yaml"; echo "$E2E_DIR/$NS-$1.yaml"; }
# children_match NS FILE: per kind, the labelled objects in NS are exactly what render prints.
children_match() {
  local ns=$1 f=$2 name res want got
  name=$(sed -n 's/^  name: //p' "$f" | head -1)
  while read -r res want; do
    got=$(kubectl get -n "$ns" "$res" -l "tracemodel.dev/model=$name" -o name 2>/dev/null | wc -l)
    [ "$got" = "$want" ] || { echo "$ns/$name: $res: $got objects, render prints $want" >&2; return 1; }
  done < <("$OP_BIN" render -n "$ns" -f "$f" -o json | python3 -c '
import json, sys, collections
n = collections.Counter()
for o in json.load(sys.stdin)["items"]:
    api = o["apiVersion"]
    if o["metadata"].get("namespace") != sys.argv[1] or api.split("/")[0] in (
            "telemetry.istio.io", "monitoring.coreos.com", "jaegertracing.io", "tempo.grafana.com"):
        continue
    n[o["kind"] + ("." + api.rsplit("/", 1)[0] if "/" in api else "")] += 1
for k, v in sorted(n.items()): print(k, v)' "$ns")
}

e2e_start_operator D
kubectl create namespace $NS --dry-run=client -o yaml | kubectl apply -f - >/dev/null
a=$(model_file down-a); b=$(model_file down-b); c=$(model_file down-c)
kubectl apply -n $NS -f "$a" >/dev/null
e2e_wait 60 e2e_generation_observed $NS/down-a || { e2e_fail "down-a not reconciled before the stop"; exit 1; }

# queued work: a new model and an edit, then the API server goes away at once
kubectl apply -n $NS -f "$b" >/dev/null
kubectl patch -n $NS tracingmodel down-a --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":1717}}}}' >/dev/null
t0=$(date +%s)
e2e_stop_apiserver
e2e_log "kube-apiserver stopped; down for ${DOWN_S}s"
sleep "$DOWN_S"
kill -0 "$OP_D_PID" || { e2e_fail "the operator exited while the API server was down"; exit 1; }
e2e_start_apiserver
e2e_log "kube-apiserver back after $(( $(date +%s) - t0 ))s"
t1=$(date +%s)
kubectl apply -n $NS -f "$c" >/dev/null

for m in down-a down-b down-c; do
  e2e_wait 120 e2e_generation_observed $NS/$m || { e2e_fail "$m: status.observedGeneration never caught up after the restart"; exit 1; }
done
e2e_wait 60 sh -c "kubectl get -n $NS configmap down-a-collector -o jsonpath='{.data}' | grep -q 1717" \
  || { e2e_fail "the edit queued before the stop was not applied"; exit 1; }
e2e_log "everything reconciled $(( $(date +%s) - t1 ))s after the API server came back"
for m in a b c; do
  f=$E2E_DIR/$NS-down-$m.yaml
  e2e_wait 30 children_match $NS "$f" || { children_match $NS "$f" || true; e2e_fail "down-$m: children differ from render (missing or duplicated)"; exit 1; }
done
kill -0 "$OP_D_PID" || { e2e_fail "the operator died"; exit 1; }
[ "$(grep -c '"msg":"starting' "$E2E_DIR/operator-D.log" || true)" -le 1 ] || { e2e_fail "the operator restarted"; exit 1; }
restarts=$(curl -s "http://127.0.0.1:$OP_D_METRICS/metrics" | grep '^tracing_operator_watch_restarts_total' | awk '{s+=$2} END {print s+0}')
e2e_log "watch restarts after the outage: $restarts"
[ "$restarts" -gt 0 ] || { e2e_fail "no watch was re-established (metrics say 0)"; exit 1; }
