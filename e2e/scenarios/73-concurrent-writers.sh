#!/usr/bin/env bash
# 73-concurrent-writers.sh - fault injection 3: another field manager changes children.
# `kubectl patch --field-manager intruder` rewrites a value the operator applied (the
# collector ConfigMap's config, the Deployment's replicas) and adds fields of its own
# (a label, an annotation). The operator notices that its managedFields entry lost
# fields (drift detection), applies those children again with force: its values come
# back and its entry owns them again, while the intruder's own fields survive. Then
# nothing is written any more (no fight, no loop).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator W; e2e_cleanup_webhooks' EXIT
NS=fault-writers
name=$(sed -n 's/^  name: //p' examples/minimal-otlp.yaml | head -1)
cm=$name-collector dep=$name-collector

e2e_start_operator W
kubectl create namespace $NS --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n $NS -f examples/minimal-otlp.yaml >/dev/null
e2e_wait 60 e2e_generation_observed $NS/$name || { e2e_fail "model not reconciled"; exit 1; }
e2e_wait 60 kubectl get -n $NS deployment "$dep" || { e2e_fail "no collector Deployment"; exit 1; }
sleep 2
want_cfg=$(kubectl get -n $NS configmap "$cm" -o jsonpath='{.data.collector\.yaml}')
want_rep=$(kubectl get -n $NS deployment "$dep" -o jsonpath='{.spec.replicas}')
[ -n "$want_cfg" ] && [ -n "$want_rep" ] || { e2e_fail "cannot read the rendered values"; exit 1; }
applies_before=$(grep -c '"msg":"applied"' "$E2E_DIR/operator-W.log" || true)

# owns FIELD_SUBSTRING MANAGER KIND NAME: the manager's managedFields entry mentions the field
owns() {
  kubectl get -n $NS "$3" "$4" -o json --show-managed-fields | python3 -c '
import json, sys
o = json.load(sys.stdin)
for e in o["metadata"].get("managedFields", []):
    if e["manager"] == sys.argv[2] and sys.argv[1] in json.dumps(e.get("fieldsV1", {})):
        sys.exit(0)
sys.exit(1)' "$1" "$2"
}

t0=$(date +%s)
kubectl patch -n $NS configmap "$cm" --field-manager intruder --type merge \
  -p '{"metadata":{"labels":{"team":"intruder"}},"data":{"collector.yaml":"tampered: true\n"}}' >/dev/null
kubectl patch -n $NS deployment "$dep" --field-manager intruder --type merge \
  -p "{\"metadata\":{\"annotations\":{\"intruder/note\":\"kept\"}},\"spec\":{\"replicas\":$((want_rep + 2))}}" >/dev/null

cfg_restored() { [ "$(kubectl get -n $NS configmap "$cm" -o jsonpath='{.data.collector\.yaml}')" = "$want_cfg" ]; }
rep_restored() { [ "$(kubectl get -n $NS deployment "$dep" -o jsonpath='{.spec.replicas}')" = "$want_rep" ]; }
e2e_wait 60 cfg_restored || { e2e_fail "the ConfigMap value the operator applies was not taken back"; exit 1; }
e2e_wait 60 rep_restored || { e2e_fail "the Deployment replicas were not taken back"; exit 1; }
e2e_log "both children re-applied $(( $(date +%s) - t0 ))s after the other writer"

[ "$(kubectl get -n $NS configmap "$cm" -o jsonpath='{.metadata.labels.team}')" = intruder ] \
  || { e2e_fail "the other manager's label did not survive"; exit 1; }
[ "$(kubectl get -n $NS deployment "$dep" -o jsonpath='{.metadata.annotations.intruder/note}')" = kept ] \
  || { e2e_fail "the other manager's annotation did not survive"; exit 1; }
mf() { kubectl get -n $NS "$1" "$2" -o json --show-managed-fields | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["metadata"]["managedFields"], indent=1))' >&2; }
owns 'f:collector.yaml' tracing-operator configmap "$cm" || { e2e_fail "the operator does not own data.collector.yaml again"; mf configmap "$cm"; exit 1; }
owns 'f:replicas' tracing-operator deployment "$dep" || { e2e_fail "the operator does not own spec.replicas again"; mf deployment "$dep"; exit 1; }
! owns 'f:collector.yaml' intruder configmap "$cm" || { e2e_fail "the intruder still owns data.collector.yaml"; exit 1; }
owns 'f:team' intruder configmap "$cm" || { e2e_fail "the intruder lost its own label's ownership"; exit 1; }
grep -q 'another field manager changed fields we apply' "$E2E_DIR/operator-W.log" \
  || { e2e_fail "no drift log line"; exit 1; }

# no fight afterwards: nothing is written for 10 s
snap() { kubectl get -n $NS configmap,deployment,service,serviceaccount -l "tracemodel.dev/model=$name" \
  -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}' | sort; }
# (the Deployment's status moves while its pods settle: compare the ConfigMap, Service, ServiceAccount)
s1=$(snap | grep -v '^Deployment/'); sleep 10; s2=$(snap | grep -v '^Deployment/')
[ "$s1" = "$s2" ] || { e2e_fail "children were written again while nothing changed:"; diff <(echo "$s1") <(echo "$s2") >&2; exit 1; }
applies=$(( $(grep -c '"msg":"applied"' "$E2E_DIR/operator-W.log" || true) - applies_before ))
e2e_log "applies after the other writer: $applies (ConfigMap + Deployment)"
[ "$applies" -le 4 ] || { e2e_fail "$applies applies for two drifted children: the operator is fighting"; exit 1; }
