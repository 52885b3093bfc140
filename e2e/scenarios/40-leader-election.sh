#!/usr/bin/env bash
# 40-leader-election.sh - two operator processes with --leader-elect: exactly one holds
# the Lease and reconciles; the follower writes nothing; when the leader gets SIGTERM it
# releases the Lease and exits within 5 s, and the other takes over (Lease, webhook
# configurations, reconciles).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator L1; e2e_stop_operator L2; e2e_cleanup_webhooks' EXIT
lease() { e2e_jsonpath '{.spec.holderIdentity}' -n tracing-system lease e2e-lock; }
identity_of() { grep -o '"became leader"[^}]*"identity":"[^"]*"' "$E2E_DIR/operator-$1.log" | head -1 | sed 's/.*"identity":"//; s/"$//'; }

e2e_start_operator L1 --leader-elect --leader-election-namespace tracing-system --leader-election-id e2e-lock
E2E_WEBHOOK_PORT=$(e2e_free_port) e2e_start_operator L2 --leader-elect --leader-election-namespace tracing-system --leader-election-id e2e-lock
e2e_wait 60 sh -c "kubectl get -n tracing-system lease e2e-lock -o jsonpath='{.spec.holderIdentity}' | grep -q ." \
  || { e2e_fail "nobody acquired the Lease"; exit 1; }
holder=$(lease)
leader=L1; other=L2
[ "$(identity_of L2)" = "$holder" ] && { leader=L2; other=L1; }
[ "$(identity_of $leader)" = "$holder" ] || { e2e_fail "the Lease holder $holder is neither process"; exit 1; }
[ -z "$(identity_of $other)" ] || { e2e_fail "both processes say they became leader"; exit 1; }
e2e_log "leader: $leader ($holder)"
lport=$(eval "echo \$OP_${leader}_HOOK"); oport=$(eval "echo \$OP_${other}_HOOK")
e2e_wait 60 e2e_webhooks_point_at "$lport" || { e2e_fail "the leader did not register its webhooks"; exit 1; }

kubectl create namespace leader --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n leader -f examples/minimal-otlp.yaml >/dev/null
name=$(sed -n 's/^  name: //p' examples/minimal-otlp.yaml | head -1)
e2e_wait 60 kubectl get -n leader configmap "$name-collector" || { e2e_fail "the leader did not reconcile"; exit 1; }
sleep 2
if grep -q '"logger":"reconcile.tracingmodel","msg":"applied"' "$E2E_DIR/operator-$other.log"; then
  e2e_fail "the follower applied objects too"; exit 1
fi

start=$(date +%s%N)
e2e_stop_operator "$leader"
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -le 5000 ] || { e2e_fail "the leader took ${took} ms to exit after SIGTERM (limit 5 s)"; exit 1; }
grep -q '"released the lease"' "$E2E_DIR/operator-$leader.log" || { e2e_fail "the leader did not release the Lease"; exit 1; }
e2e_log "leader exited ${took} ms after SIGTERM"
e2e_wait 30 sh -c "[ -n \"\$(kubectl get -n tracing-system lease e2e-lock -o jsonpath='{.spec.holderIdentity}')\" ] && [ \"\$(kubectl get -n tracing-system lease e2e-lock -o jsonpath='{.spec.holderIdentity}')\" != '$holder' ]" \
  || { e2e_fail "the other replica did not take over the Lease"; exit 1; }
e2e_wait 60 e2e_webhooks_point_at "$oport" || { e2e_fail "the new leader did not take over the webhook configurations"; exit 1; }
kubectl patch -n leader tracingmodel "$name" --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":555}}}}' >/dev/null
e2e_wait 60 sh -c "kubectl get -n leader configmap $name-collector -o jsonpath='{.data}' | grep -q 555" \
  || { e2e_fail "the new leader did not reconcile"; exit 1; }
