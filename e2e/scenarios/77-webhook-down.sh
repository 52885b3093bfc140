#!/usr/bin/env bash
# 77-webhook-down.sh - fault injection 7: the webhook process is down (SIGKILL, so its
# webhook configurations stay registered and point at a closed port). Pods of an
# opted-in namespace are still created (the pod webhook's failurePolicy is Ignore),
# quickly, and without injection; once the operator is back, the controller reports
# them as uninstrumented (Instrumentation status.uninstrumentedPods). 55-rollout.sh
# covers the rest of that reporting (condition, Event, restart of the owner).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator H1; e2e_stop_operator H2; e2e_cleanup_webhooks' EXIT
NS=fault-hookdown N=5

e2e_start_operator H1
e2e_wait 60 kubectl get crd instrumentations.tracemodel.dev || { e2e_fail "the Instrumentation CRD was not installed"; exit 1; }
kubectl wait --for=condition=Established --timeout=60s crd/instrumentations.tracemodel.dev >/dev/null
kubectl create namespace $NS --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create serviceaccount -n $NS default --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl annotate namespace $NS tracemodel.dev/inject-java=true --overwrite >/dev/null
kubectl apply -f - >/dev/null <<Y
apiVersion: tracemodel.dev/v1alpha1
kind: Instrumentation
metadata: {name: inst, namespace: $NS}
spec:
  exporter: {endpoint: "http://collector.example:4318"}
  java: {}
Y
injected() { kubectl get -n $NS pod "$1" -o jsonpath='{.metadata.annotations}' | grep -q 'tracemodel.dev/injection-status":"injected'; }
# with the webhook up, a pod is injected (retry: the webhook may see the Instrumentation late)
for i in $(seq 20); do
  kubectl delete -n $NS pod up --ignore-not-found --wait=false >/dev/null 2>&1
  kubectl run -n $NS up --image=registry.example/web:1.0 --restart=Never >/dev/null
  injected up && break
  sleep 1
done
injected up || { e2e_fail "with the webhook up, the pod was not injected"; exit 1; }

kill -KILL "$OP_H1_PID"; wait "$OP_H1_PID" 2>/dev/null || true; OP_H1_PID=
e2e_webhooks_point_at "$OP_H1_HOOK" || { e2e_fail "the webhook configurations are gone: this would not test a dead endpoint"; exit 1; }
worst=0
for i in $(seq $N); do
  t=$(date +%s%N)
  kubectl run -n $NS "down-$i" --image=registry.example/web:1.0 --restart=Never >/dev/null \
    || { e2e_fail "with the webhook down, pod down-$i was refused"; exit 1; }
  ms=$(( ($(date +%s%N) - t) / 1000000 )); [ $ms -gt $worst ] && worst=$ms
  injected "down-$i" && { e2e_fail "down-$i is injected although the webhook is down"; exit 1; }
done
e2e_log "$N pods created with the webhook down; slowest kubectl run ${worst} ms"
[ $worst -le 10000 ] || { e2e_fail "pod creation took ${worst} ms with the webhook down (limit 10 s)"; exit 1; }

E2E_WEBHOOK_PORT=$(e2e_free_port) e2e_start_operator H2
counted() { [ "$(e2e_jsonpath '{.status.uninstrumentedPods}' -n $NS instrumentation inst)" -ge $N ] 2>/dev/null; }
e2e_wait 90 counted || { e2e_fail "status.uninstrumentedPods never counted the $N pods (status: $(e2e_jsonpath '{.status}' -n $NS instrumentation inst))"; exit 1; }
e2e_log "reported uninstrumented: $(e2e_jsonpath '{.status.uninstrumentedPods}' -n $NS instrumentation inst)"
[ -f e2e/scenarios/55-rollout.sh ] && e2e_log "the Uninstrumented condition, Event and owner restart are covered by 55-rollout"
exit 0
