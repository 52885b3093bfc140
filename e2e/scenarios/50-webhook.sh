#!/usr/bin/env bash
# 50-webhook.sh - admission against a real API server: the operator registers its
# webhooks (url + caBundle, self-signed CA); a pod created in an annotated namespace is
# stored with the injection; a bad TracingModel is refused by kubectl apply with the
# field in the message; a Deployment with an inject annotation on its own metadata is
# accepted with a warning saying where it belongs; with the operator stopped, pods are
# still created, except in a namespace labelled tracemodel.dev/injection-policy=required.
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator W; e2e_cleanup_webhooks' EXIT
e2e_start_operator W
e2e_wait 60 sh -c "kubectl get mutatingwebhookconfigurations -o jsonpath='{.items[*].webhooks[*].clientConfig.caBundle}' | grep -q ." \
  || { e2e_fail "the operator did not register its webhooks with a caBundle"; exit 1; }
e2e_wait 60 kubectl get crd instrumentations.tracemodel.dev
kubectl wait --for=condition=Established --timeout=60s crd/instrumentations.tracemodel.dev >/dev/null

kubectl create namespace apps --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n apps -f examples/minimal-otlp.yaml >/dev/null
model=$(sed -n 's/^  name: //p' examples/minimal-otlp.yaml | head -1)
kubectl apply -f - >/dev/null <<Y
apiVersion: tracemodel.dev/v1alpha1
kind: Instrumentation
metadata: {name: default, namespace: apps}
spec:
  tracingModel: $model
Y
kubectl annotate namespace apps tracemodel.dev/inject-java=true --overwrite >/dev/null
sleep 2
pod_json() { kubectl get -n apps pod "$1" -o json; }
for i in $(seq 20); do
  kubectl delete -n apps pod web --ignore-not-found --wait=false >/dev/null 2>&1
  kubectl run -n apps web --image=registry.example/web:1.0 --labels app.kubernetes.io/name=web --restart=Never >/dev/null
  st=$(kubectl get -n apps pod web -o jsonpath='{.metadata.annotations.tracemodel\.dev/injection-status}')
  case "$st" in injected:*) break;; esac
  sleep 1
done
json=$(pod_json web)
grep -q 'tracemodel-auto-instrumentation-java' <<<"$json" || { e2e_fail "pod not injected (status: $st)"; echo "$json" | head -60 >&2; exit 1; }
grep -q 'JAVA_TOOL_OPTIONS' <<<"$json" || { e2e_fail "JAVA_TOOL_OPTIONS missing"; exit 1; }
grep -q '"OTEL_SERVICE_NAME"' <<<"$json" || { e2e_fail "OTEL_SERVICE_NAME missing"; exit 1; }
grep -q "$model-collector.apps.svc" <<<"$json" || { e2e_fail "the exporter endpoint is not the model's collector"; exit 1; }

cat >"$E2E_DIR/bad.yaml" <<'Y'
apiVersion: tracemodel.dev/v1alpha1
kind: TracingModel
metadata: {name: bad, namespace: apps}
spec:
  backend: {type: jaeger}
  sampling: {rate: 0.5, rules: [{name: r, condition: "http.status_code >=", rate: 1}]}
Y
if out=$(kubectl apply -f "$E2E_DIR/bad.yaml" 2>&1); then e2e_fail "a bad TracingModel was accepted"; exit 1; fi
grep -q 'spec.sampling.rules\[0\].condition' <<<"$out" || { e2e_fail "denial does not name the field: $out"; exit 1; }

# An injection annotation on the Deployment's own metadata never reaches its pods:
# kubectl apply succeeds and prints the webhook's warning naming where it must go.
cat >"$E2E_DIR/misplaced.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: misplaced
  namespace: apps
  annotations: {tracemodel.dev/inject-java: "true"}
spec:
  selector: {matchLabels: {app: misplaced}}
  template:
    metadata: {labels: {app: misplaced}}
    spec: {containers: [{name: app, image: registry.example/web:1.0}]}
Y
out=$(kubectl apply -f "$E2E_DIR/misplaced.yaml" 2>&1) || { e2e_fail "a Deployment was refused: $out"; exit 1; }
grep -q "Warning: tracing-operator: annotation tracemodel.dev/inject-java on the Deployment's own metadata never reaches the pods: move it to spec.template.metadata.annotations" <<<"$out" \
  || { e2e_fail "no warning for an inject annotation on a Deployment's metadata: $out"; exit 1; }
out=$(kubectl annotate -n apps deployment misplaced tracemodel.dev/inject-java- 2>&1)
grep -q "Warning:" <<<"$out" && { e2e_fail "a warning for a Deployment without misplaced annotations: $out"; exit 1; }
kubectl delete -n apps deployment misplaced --wait=false >/dev/null

# Opt-in fail-closed: a namespace labelled tracemodel.dev/injection-policy=required is
# served by the failurePolicy Fail pod webhook: pods are created while the webhook answers,
# and refused while it is down (every other namespace still gets its pods).
kubectl create namespace strict --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace strict tracemodel.dev/injection-policy=required --overwrite >/dev/null
e2e_wait 30 kubectl get -n strict serviceaccount default || true
kubectl run -n strict up --image=registry.example/web:1.0 --restart=Never >/dev/null \
  || { e2e_fail "a pod in a required namespace was refused with the webhook up"; exit 1; }

e2e_stop_operator W
kubectl run -n apps down --image=registry.example/web:1.0 --restart=Never >/dev/null \
  || { e2e_fail "with the webhook down, pod creation was blocked"; exit 1; }
if out=$(kubectl run -n strict down --image=registry.example/web:1.0 --restart=Never 2>&1); then
  e2e_fail "with the webhook down, a pod was created in a namespace that requires injection"; exit 1
fi
grep -q 'mpod-required.tracemodel.dev' <<<"$out" \
  || { e2e_fail "the refusal does not name the required pod webhook: $out"; exit 1; }
