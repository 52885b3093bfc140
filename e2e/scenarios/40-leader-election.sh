#!/usr/bin/env bash
# 40-leader-election.sh - two operator processes with --leader-elect: exactly one holds
# the Lease and reconciles; when it is stopped (SIGTERM) it releases the Lease, exits
# within 5 s, and the other takes over.
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator L1; e2e_stop_operator L2' EXIT
e2e_start_operator L1 --leader-elect --leader-election-namespace tracing-system --leader-election-id e2e-lock
E2E_WEBHOOK_PORT=$(e2e_free_port) e2e_start_operator L2 --leader-elect --leader-election-namespace tracing-system --leader-election-id e2e-lock
e2e_wait 60 sh -c "kubectl get -n tracing-system lease e2e-lock -o jsonpath='{.spec.holderIdentity}' | grep -q ." \
  || { e2e_fail "nobody acquired the Lease"; exit 1; }
holder=$(kubectl get -n tracing-system lease e2e-lock -o jsonpath='{.spec.holderIdentity}')
e2e_log "leader: $holder"
leader=L1; other=L2
case "$holder" in *"$OP_L2_PID"*) leader=L2; other=L1;; esac

kubectl create namespace leader --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n leader -f examples/minimal-otlp.yaml >/dev/null
name=$(sed -n 's/^  name: //p' examples/minimal-otlp.yaml | head -1)
e2e_wait 60 kubectl get -n leader configmap "$name-collector" || { e2e_fail "the leader did not reconcile"; exit 1; }
sleep 3
grep -q '"reconciled"\|reconcile.*leader/' "$E2E_DIR/operator-$other.log" && grep -q 'leader/'"$name" "$E2E_DIR/operator-$other.log" \
  && grep '"msg":"reconciled"' "$E2E_DIR/operator-$other.log" | grep -q "leader" \
  && { e2e_fail "the follower reconciled too"; exit 1; }

start=$(date +%s%N)
e2e_stop_operator "$leader"
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -le 5500 ] || { e2e_fail "the leader took ${took} ms to exit after SIGTERM (limit 5 s)"; exit 1; }
e2e_wait 30 sh -c "kubectl get -n tracing-system lease e2e-lock -o jsonpath='{.spec.holderIdentity}' | grep -qv '^$holder\$'" \
  || { e2e_fail "the other replica did not take over the Lease"; exit 1; }
kubectl patch -n leader tracingmodel "$name" --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":555}}}}' >/dev/null
e2e_wait 60 sh -c "kubectl get -n leader configmap $name-collector -o jsonpath='{.data}' | grep -q 555" \
  || { e2e_fail "the new leader did not reconcile"; exit 1; }
