#!/usr/bin/env bash
# 10-render-dry-run.sh - every example's rendered manifests are accepted by the API
# server's server-side dry run, with the project's CRDs and the optional integrations'
# CRDs installed; every example is also accepted as a TracingModel object.
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
kubectl apply --server-side -f crds/ >/dev/null
kubectl apply --server-side -f e2e/fixtures/optional-crds.yaml >/dev/null
for c in $(kubectl get crd -o name); do kubectl wait --for=condition=Established --timeout=60s "$c" >/dev/null; done
n=0
for ex in examples/*.yaml; do
  out=$(mktemp)
  "$OP_BIN" render -f "$ex" >"$out"
  for ns in $(sed -n 's/^  namespace: //p' "$out" | sort -u); do
    kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  done
  objs=$(grep -c '^kind:' "$out" || true)
  kubectl apply --server-side --dry-run=server -f "$out" >/dev/null || { e2e_fail "$ex: server dry run refused the rendered manifests"; exit 1; }
  kubectl apply --dry-run=server -f "$ex" >/dev/null || { e2e_fail "$ex: the API server refused the TracingModel itself"; exit 1; }
  e2e_log "$ex: $objs objects accepted"
  n=$((n + 1))
  rm -f "$out"
done
[ "$n" -ge 4 ] || { e2e_fail "expected at least 4 examples, found $n"; exit 1; }
