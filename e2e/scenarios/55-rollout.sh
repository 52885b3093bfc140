#!/usr/bin/env bash
# 55-rollout.sh - the controller's part of injection against a real API server: pods of
# an opted-in namespace created while the operator (and its webhook) was down are
# counted in the Instrumentation's status.uninstrumentedPods with a Warning Event
# UninstrumentedPods; with spec.restartUninstrumented their Deployment's pod template
# gets tracemodel.dev/restartedAt (Event RestartedUninstrumented); with
# spec.rolloutOnChange an edit of what the Instrumentation injects puts the new
# status.injectionHash on the opted-in Deployment's template (Event RolloutTriggered).
# Without kube-controller-manager a bare pod stands in for the Deployment's pod (it is
# counted; bare pods are reported, never restarted).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator R1; e2e_stop_operator R2; e2e_cleanup_webhooks' EXIT
NS=rollout

e2e_start_operator R1
e2e_wait 60 kubectl get crd instrumentations.tracemodel.dev || { e2e_fail "the Instrumentation CRD was not installed"; exit 1; }
kubectl wait --for=condition=Established --timeout=60s crd/instrumentations.tracemodel.dev >/dev/null
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl annotate namespace "$NS" tracemodel.dev/inject-java=true --overwrite >/dev/null
kubectl apply -f - >/dev/null <<Y
apiVersion: tracemodel.dev/v1alpha1
kind: Instrumentation
metadata: {name: inst, namespace: $NS}
spec:
  exporter: {endpoint: "http://collector.example:4318"}
  java: {}
  rolloutOnChange: true
  restartUninstrumented: true
Y
inst_field() { e2e_jsonpath "$1" -n "$NS" instrumentation inst; }
has_hash() { [ -n "$(inst_field '{.status.injectionHash}')" ]; }
e2e_wait 60 has_hash || { e2e_fail "status.injectionHash was never written"; exit 1; }
hash1=$(inst_field '{.status.injectionHash}')

# The operator goes away with its webhooks: pods come up without injection.
e2e_stop_operator R1
e2e_cleanup_webhooks
kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: $NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: registry.example/web:1.0}]}
Y
if [ -n "${E2E_HAVE_KCM:-}" ]; then
  pod_of_web() { kubectl get -n "$NS" pods -l app=web -o name | grep -q .; }
  e2e_wait 60 pod_of_web || { e2e_fail "kube-controller-manager created no pod for the Deployment"; exit 1; }
else
  echo "e2e: no kube-controller-manager: a bare pod stands in for the Deployment's (restart check SKIPPED)"
  # (no controller-manager, no "default" ServiceAccount: make it, as it would)
  kubectl create serviceaccount -n "$NS" default --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl run -n "$NS" lonely --image=registry.example/web:1.0 --restart=Never >/dev/null
fi
pods=$(kubectl get -n "$NS" pods -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations}{"\n"}{end}')
grep -q 'tracemodel.dev/injected' <<<"$pods" && { e2e_fail "a pod was injected although the webhook was down"; exit 1; }

e2e_start_operator R2
uninstrumented_counted() { [ "$(inst_field '{.status.uninstrumentedPods}')" -ge 1 ] 2>/dev/null; }
e2e_wait 60 uninstrumented_counted || { e2e_fail "status.uninstrumentedPods never counted the pod (status: $(inst_field '{.status}'))"; exit 1; }
cond=$(inst_field '{.status.conditions[?(@.type=="Uninstrumented")].status}')
[ "$cond" = True ] || { e2e_fail "the Uninstrumented condition is '$cond', want True"; exit 1; }
event_seen() { kubectl get events.events.k8s.io -n "$NS" -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -qx "$1"; }
e2e_wait 30 event_seen UninstrumentedPods || { e2e_fail "no UninstrumentedPods Event"; exit 1; }
e2e_log "uninstrumented pods: $(inst_field '{.status.uninstrumentedPods}')"

template_ann() { e2e_jsonpath "{.spec.template.metadata.annotations.tracemodel\\.dev/$1}" -n "$NS" deployment web; }
if [ -n "${E2E_HAVE_KCM:-}" ]; then
  restarted() { [ -n "$(template_ann restartedAt)" ]; }
  e2e_wait 60 restarted || { e2e_fail "the Deployment was not restarted (template annotations: $(template_ann ''))"; exit 1; }
  e2e_wait 30 event_seen RestartedUninstrumented || { e2e_fail "no RestartedUninstrumented Event"; exit 1; }
  e2e_log "Deployment web restarted at $(template_ann restartedAt)"
fi

# What the Instrumentation injects changes: the opted-in Deployment rolls to the new hash.
kubectl patch -n "$NS" instrumentation inst --type merge \
  -p '{"spec":{"env":[{"name":"OTEL_RESOURCE_ATTRIBUTES","value":"team=shop"}]}}' >/dev/null
hash_moved() { local h; h=$(inst_field '{.status.injectionHash}'); [ -n "$h" ] && [ "$h" != "$hash1" ]; }
e2e_wait 60 hash_moved || { e2e_fail "status.injectionHash did not change after the edit"; exit 1; }
hash2=$(inst_field '{.status.injectionHash}')
rolled() { [ "$(template_ann injection-hash)" = "$hash2" ]; }
e2e_wait 30 rolled || { e2e_fail "the Deployment's template has injection-hash '$(template_ann injection-hash)', want $hash2"; exit 1; }
e2e_wait 30 event_seen RolloutTriggered || { e2e_fail "no RolloutTriggered Event"; exit 1; }
e2e_log "Deployment web rolled to injection hash ${hash2:0:12}"

# No edit: no further rollout writes (the template's resourceVersion stays).
rv() { e2e_jsonpath '{.metadata.generation}' -n "$NS" deployment web; }
g1=$(rv); sleep 5; g2=$(rv)
[ "$g1" = "$g2" ] || { e2e_fail "the Deployment kept being rolled without a change ($g1 -> $g2)"; exit 1; }
kill -0 "$OP_R2_PID" || { e2e_fail "the operator died"; exit 1; }
