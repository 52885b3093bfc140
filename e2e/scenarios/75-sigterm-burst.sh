#!/usr/bin/env bash
# 75-sigterm-burst.sh - fault injection 5: SIGTERM during a burst of reconciles. Every
# example is applied into several namespaces at once and the leader gets SIGTERM right
# away: it exits with status 0 within 5 s, the Lease is released (holderIdentity empty
# or leaseDurationSeconds 1), and whatever it left half done is fixed by a restarted
# operator: every model converges (observedGeneration) with exactly the children
# `render` prints.
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
trap 'e2e_stop_operator T1; e2e_stop_operator T2; e2e_cleanup_webhooks' EXIT
LEASE=fault-term-lock NAMESPACES="term-1 term-2 term-3"
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
e2e_start_operator T1 "${flags[@]}"
e2e_wait 60 sh -c "kubectl get -n tracing-system lease $LEASE -o jsonpath='{.spec.holderIdentity}' | grep -q ." \
  || { e2e_fail "the operator did not acquire the Lease"; exit 1; }
e2e_wait 60 kubectl get crd tracingmodels.tracemodel.dev
kubectl wait --for=condition=Established --timeout=60s crd/tracingmodels.tracemodel.dev >/dev/null

# every example into each namespace (those that name their own namespace only there),
# as model files with the namespace written in, so `render` sees the same thing
models=()
for ex in examples/*.yaml; do
  own=$(sed -n 's/^  namespace: //p' "$ex" | head -1)
  for ns in ${own:-$NAMESPACES}; do
    kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
    f="$E2E_DIR/term-$ns-$(basename "$ex")"
    if [ -n "$own" ]; then cp "$ex" "$f"; else sed "s/^  name: \(.*\)/  name: \1\n  namespace: $ns/" "$ex" >"$f"; fi
    models+=("$ns|$f")
  done
done
for m in "${models[@]}"; do printf -- '---\n'; cat "${m#*|}"; done >"$E2E_DIR/term-all.yaml"

kubectl apply -f "$E2E_DIR/term-all.yaml" >/dev/null
start=$(date +%s%N)
kill -TERM "$OP_T1_PID"
rc=0; wait "$OP_T1_PID" || rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
OP_T1_PID=
applied=$(grep -c '"msg":"applied"' "$E2E_DIR/operator-T1.log" || true)
e2e_log "${#models[@]} models applied; SIGTERM -> exit status $rc after ${took} ms ($applied children applied before)"
[ "$rc" = 0 ] || { e2e_fail "exit status $rc after SIGTERM (want 0)"; tail -5 "$E2E_DIR/operator-T1.log" >&2; exit 1; }
[ "$took" -le 5000 ] || { e2e_fail "exit took ${took} ms (limit 5 s)"; exit 1; }
holder=$(e2e_jsonpath '{.spec.holderIdentity}' -n tracing-system lease $LEASE)
dur=$(e2e_jsonpath '{.spec.leaseDurationSeconds}' -n tracing-system lease $LEASE)
{ [ -z "$holder" ] || [ "$dur" = 1 ]; } || { e2e_fail "the Lease was not released (holder '$holder', duration $dur)"; exit 1; }
e2e_log "Lease released (holder '$holder', leaseDurationSeconds $dur)"

# a new operator finishes the job
e2e_start_operator T2 "${flags[@]}"
for m in "${models[@]}"; do
  ns=${m%%|*} f=${m#*|}; name=$(sed -n 's/^  name: //p' "$f" | head -1)
  e2e_wait 120 e2e_generation_observed "$ns/$name" || { e2e_fail "$ns/$name never converged after the restart"; exit 1; }
  e2e_wait 60 children_match "$ns" "$f" || { children_match "$ns" "$f" || true; e2e_fail "$ns/$name: children differ from render"; exit 1; }
done
e2e_log "all ${#models[@]} models converged after the restart"
