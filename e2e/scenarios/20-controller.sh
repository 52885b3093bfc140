#!/usr/bin/env bash
# 20-controller.sh - the operator's main job against a real API server: CRDs installed
# by the operator; each example's children appear with owner references and the
# rendered content; status reports observedGeneration and Ready; an edit changes only
# what it should; a deleted child comes back; a no-op resync writes nothing; deleting
# the model garbage-collects its children (with kube-controller-manager).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator A; e2e_cleanup_webhooks' EXIT
e2e_start_operator A
e2e_wait 60 kubectl get crd tracingmodels.tracemodel.dev || { e2e_fail "--install-crds did not create the CRD"; exit 1; }
kubectl wait --for=condition=Established --timeout=60s crd/tracingmodels.tracemodel.dev >/dev/null

for ex in examples/*.yaml; do
  ns=$(sed -n "s/^  namespace: //p" "$ex" | head -1); ns=${ns:-default}; name=$(sed -n 's/^  name: //p' "$ex" | head -1)
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -f "$ex" >/dev/null
  # every object `render` prints must exist (optional integrations without CRDs are skipped)
  "$OP_BIN" render -f "$ex" -o json | python3 -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    print(o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])' >"$E2E_DIR/want-$name.txt"
  while read -r api kind ons oname; do
    case "$api" in telemetry.istio.io/*|monitoring.coreos.com/*|jaegertracing.io/*|tempo.grafana.com/*) continue;; esac
    res="$kind.${api%/*}"; [ "$api" = v1 ] && res=$kind
    e2e_wait 60 kubectl get -n "$ons" "$res" "$oname" || { e2e_fail "$ex: $kind $ons/$oname was not created"; exit 1; }
    owner=$(e2e_jsonpath '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}' -n "$ons" "$res" "$oname")
    if [ "$ons" = "$ns" ] && [ "$owner" != "TracingModel/$name/true" ]; then
      e2e_fail "$ex: $kind $ons/$oname has owner '$owner', want TracingModel/$name/true"; exit 1
    fi
  done <"$E2E_DIR/want-$name.txt"
  e2e_wait 60 e2e_generation_observed "$ns/$name" || { e2e_fail "$ex: status.observedGeneration never caught up"; exit 1; }
  ready=$(e2e_jsonpath '{.status.conditions[?(@.type=="Ready")].status}' -n "$ns" tracingmodel "$name")
  [ -n "$ready" ] || { e2e_fail "$ex: no Ready condition in status"; exit 1; }
  e2e_log "$ex: $(wc -l <"$E2E_DIR/want-$name.txt") objects reconciled, Ready=$ready"
done

# The minimal example: edit, no-op, delete a child, delete the model.
ex=examples/minimal-otlp.yaml
ns=$(sed -n "s/^  namespace: //p" "$ex" | head -1); ns=${ns:-default}; name=$(sed -n 's/^  name: //p' "$ex" | head -1)
snapshot() { kubectl get -n "$ns" configmap,service,serviceaccount,deployment -l "tracemodel.dev/model=$name" \
  -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}' | sort; }
sleep 3
before=$(snapshot)
sleep 12
after=$(snapshot)
[ "$before" = "$after" ] || { e2e_fail "no-op: children were written while nothing changed:"; diff <(echo "$before") <(echo "$after") >&2; exit 1; }

kubectl patch -n "$ns" tracingmodel "$name" --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":333}}}}' >/dev/null
e2e_wait 60 sh -c "kubectl get -n $ns configmap $name-collector -o jsonpath='{.data}' | grep -q 333" \
  || { e2e_fail "edit: the collector ConfigMap did not change"; exit 1; }
svc_before=$(echo "$before" | grep '^Service/')
sleep 3
svc_after=$(snapshot | grep '^Service/')
[ "$svc_before" = "$svc_after" ] || { e2e_fail "edit: the Service was rewritten although it did not change"; exit 1; }

kubectl delete -n "$ns" service "$name-collector" --wait=true >/dev/null
e2e_wait 60 kubectl get -n "$ns" service "$name-collector" || { e2e_fail "a deleted child was not recreated"; exit 1; }

kubectl delete -n "$ns" tracingmodel "$name" --wait=true --timeout=60s >/dev/null
if [ -n "${E2E_HAVE_KCM:-}" ]; then
  e2e_wait 60 sh -c "! kubectl get -n $ns configmap,service,deployment -l tracemodel.dev/model=$name -o name | grep -q ." \
    || { e2e_fail "children were not garbage-collected after the model was deleted"; exit 1; }
else
  echo "e2e: garbage-collection check SKIPPED (no kube-controller-manager: set KUBE_CONTROLLER_MANAGER)"
fi
grep -q "$E2E_TOKEN" "$E2E_DIR/operator-A.log" && { e2e_fail "the API token appears in the operator log"; exit 1; }
kill -0 "$OP_A_PID" || { e2e_fail "the operator died"; exit 1; }
