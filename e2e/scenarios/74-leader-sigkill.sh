#!/usr/bin/env bash
# 74-leader-sigkill.sh - fault injection 4: the leader is killed with SIGKILL (no lease
# release). The standby takes the Lease within the lease duration (15 s, plus the
# standby's retry period as margin) and reconciles; the Lease holder, polled every
# 0.5 s, changes exactly once; the standby wrote nothing before it became leader; every
# child's managedFields names only the manager tracing-operator for Apply (status
# managers aside); per kind, the objects labelled with the model are exactly what
# `render` prints (no duplicate children).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
POLL_PID=
trap '[ -z "$POLL_PID" ] || kill "$POLL_PID" 2>/dev/null || true; e2e_stop_operator K1; e2e_stop_operator K2; e2e_cleanup_webhooks' EXIT
NS=fault-kill LEASE=fault-kill-lock LEASE_S=15 MARGIN_S=${E2E_TAKEOVER_MARGIN_S:-5}
lease() { e2e_jsonpath '{.spec.holderIdentity}' -n tracing-system lease $LEASE; }
identity_of() { grep -o '"became leader"[^}]*"identity":"[^"]*"' "$E2E_DIR/operator-$1.log" | head -1 | sed 's/.*"identity":"//; s/"$//'; }
model_file() { sed "s/^  name: .*/  name: $1/" examples/minimal-otlp.yaml >"$E2E_DIR/$NS-$1.yaml"; echo "$E2E_DIR/$NS-$1.yaml"; }
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

flags=(--leader-elect --leader-election-namespace tracing-system --leader-election-id $LEASE)
e2e_start_operator K1 "${flags[@]}"
E2E_WEBHOOK_PORT=$(e2e_free_port) e2e_start_operator K2 "${flags[@]}"
e2e_wait 60 sh -c "kubectl get -n tracing-system lease $LEASE -o jsonpath='{.spec.holderIdentity}' | grep -q ." \
  || { e2e_fail "nobody acquired the Lease"; exit 1; }
holder=$(lease)
leader=K1; other=K2
[ "$(identity_of K2)" = "$holder" ] && { leader=K2; other=K1; }
[ "$(identity_of $leader)" = "$holder" ] || { e2e_fail "the Lease holder $holder is neither process"; exit 1; }
e2e_log "leader: $leader ($holder)"

# the holder over time, every 0.5 s
( while :; do printf '%s %s\n' "$(date +%s.%N)" "$(kubectl get -n tracing-system lease $LEASE -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || echo '?')"; sleep 0.5; done ) \
  >"$E2E_DIR/$NS-holders.txt" &
POLL_PID=$!

kubectl create namespace $NS --dry-run=client -o yaml | kubectl apply -f - >/dev/null
for m in kill-a kill-b kill-c; do kubectl apply -n $NS -f "$(model_file $m)" >/dev/null; done
e2e_wait 60 e2e_generation_observed $NS/kill-a || { e2e_fail "the leader did not reconcile"; exit 1; }
# work in flight when the leader dies: edits of every model
for m in kill-a kill-b kill-c; do
  kubectl patch -n $NS tracingmodel $m --type merge -p '{"spec":{"collector":{"batch":{"sendBatchSize":1515}}}}' >/dev/null
done
pid=$(eval "echo \$OP_${leader}_PID")
kill -KILL "$pid"
t0=$(date +%s%N)
wait "$pid" 2>/dev/null || true
e2e_log "leader $leader SIGKILLed"
new_holder() { local h; h=$(lease); [ -n "$h" ] && [ "$h" != "$holder" ]; }
e2e_wait $((LEASE_S + MARGIN_S + 5)) new_holder || { e2e_fail "the standby did not take the Lease"; exit 1; }
took=$(( ($(date +%s%N) - t0) / 1000000 ))
e2e_log "standby $other holds the Lease ${took} ms after the SIGKILL (lease ${LEASE_S}s)"
[ "$took" -le $(( (LEASE_S + MARGIN_S) * 1000 )) ] || { e2e_fail "takeover took ${took} ms (limit $((LEASE_S + MARGIN_S)) s)"; exit 1; }
[ "$(lease)" = "$(identity_of $other)" ] || { e2e_fail "the new holder is not the standby"; exit 1; }

for m in kill-a kill-b kill-c; do
  e2e_wait 60 e2e_generation_observed $NS/$m || { e2e_fail "$m: the new leader did not finish the work"; exit 1; }
  e2e_wait 60 sh -c "kubectl get -n $NS configmap $m-collector -o jsonpath='{.data}' | grep -q 1515" \
    || { e2e_fail "$m: the edit was not applied by the new leader"; exit 1; }
done
sleep 2
kill "$POLL_PID" 2>/dev/null; wait "$POLL_PID" 2>/dev/null || true; POLL_PID=

# holder history: the distinct consecutive holders (unreadable samples '?' aside)
changes=$(awk '$2 != "?" { if ($2 != last) { print $2; last = $2 } }' "$E2E_DIR/$NS-holders.txt")
e2e_log "holder history: $(echo $changes)"
[ "$(echo "$changes" | wc -l)" = 2 ] && [ "$(echo "$changes" | head -1)" = "$holder" ] \
  || { e2e_fail "the Lease holder did not change exactly once (old -> new): $(echo $changes)"; exit 1; }

# the standby applied nothing before it became leader
awk '/"became leader"/ { exit } /"msg":"applied"/ { found = 1 } END { exit !found }' "$E2E_DIR/operator-$other.log" \
  && { e2e_fail "the standby applied objects before it became leader"; exit 1; }

# managedFields: Apply only by tracing-operator; Update only on status (or by kube-controller-manager)
kubectl get -n $NS configmap,service,serviceaccount,deployment -l app.kubernetes.io/managed-by=tracing-operator -o json --show-managed-fields \
  | python3 -c '
import json, sys
bad = []
for o in json.load(sys.stdin)["items"]:
    if not any(e["manager"] == "tracing-operator" and e["operation"] == "Apply"
               for e in o["metadata"].get("managedFields", [])):
        bad.append("%s/%s: no Apply entry of tracing-operator" % (o["kind"], o["metadata"]["name"]))
    for e in o["metadata"].get("managedFields", []):
        ok = (e["operation"] == "Apply" and e["manager"] == "tracing-operator") or \
             e.get("subresource") == "status" or e["manager"] == "kube-controller-manager"
        if not ok:
            bad.append("%s/%s: %s %s %s" % (o["kind"], o["metadata"]["name"], e["manager"], e["operation"], e.get("subresource", "")))
if bad:
    print("\n".join(bad)); sys.exit(1)' >"$E2E_DIR/$NS-managers.txt" \
  || { e2e_fail "unexpected field managers:"; cat "$E2E_DIR/$NS-managers.txt" >&2; exit 1; }
for m in kill-a kill-b kill-c; do
  children_match $NS "$E2E_DIR/$NS-$m.yaml" || { e2e_fail "$m: children differ from render (missing or duplicated)"; exit 1; }
done
