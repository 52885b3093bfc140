#!/usr/bin/env bash
# 30-apiserver-restart.sh - the API server goes away mid-watch and comes back: the
# operator resumes its watches without restarting, and a model edited afterwards is
# reconciled. Needs the local control plane (it restarts kube-apiserver).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
if [ -z "${E2E_LOCAL:-}" ]; then echo "SKIPPED: needs the local control plane (KUBE_APISERVER)"; exit 77; fi
trap 'e2e_stop_operator R; e2e_cleanup_webhooks' EXIT
e2e_start_operator R
kubectl create namespace restart --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n restart -f examples/minimal-otlp.yaml >/dev/null
name=$(sed -n 's/^  name: //p' examples/minimal-otlp.yaml | head -1)
e2e_wait 60 kubectl get -n restart configmap "$name-collector" || { e2e_fail "model not reconciled before the restart"; exit 1; }

e2e_stop_apiserver
sleep 8
e2e_start_apiserver
kill -0 "$OP_R_PID" || { e2e_fail "the operator exited while the API server was down"; exit 1; }
kubectl patch -n restart tracingmodel "$name" --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":777}}}}' >/dev/null
e2e_wait 90 sh -c "kubectl get -n restart configmap $name-collector -o jsonpath='{.data}' | grep -q 777" \
  || { e2e_fail "after the API server came back, an edit was not reconciled"; exit 1; }
kill -0 "$OP_R_PID" || { e2e_fail "the operator restarted"; exit 1; }
