#!/usr/bin/env bash
# chart.sh - the Helm chart against a real API server (KUBECONFIG; a bare etcd +
# kube-apiserver is enough: no kubelet, no operator pod).
#
# Part A, an out-of-cluster operator (tests/chart/values-out-of-cluster.yaml: replicas 0,
#   webhook.url + webhook.caBundle):
#   - helm install creates the CRDs (crds/) and they are served (Established, listable);
#   - the webhook configurations call the URL with the caBundle;
#   - `kubectl auth can-i --as system:serviceaccount:NS:SA` grants every permission the
#     operator needs (the table in tests/chart/check_manifests.py) and denies Secrets in
#     other namespaces, pods/exec, wildcards, RBAC escalation, CRDs that are not its own;
#   - a CRD left behind by an older release is brought up to date on upgrade: helm upgrade
#     leaves crds/ alone, and the operator started with --install-crds (when this build has
#     `run`) updates it, running with the chart ServiceAccount's own token;
#   - helm uninstall removes every object of the release, and keeps the CRDs.
# Part B, the default self-signed mode (replicas 0): the caBundle and the certificate
#   Secret the operator writes survive `helm upgrade`; the Secret RBAC is limited to that
#   Secret in the release namespace; uninstall removes the Secret too.
#
# Needs helm 3, kubectl, python3 with PyYAML, openssl. Without KUBECONFIG it prints a loud
# SKIPPED line and exits 0. OP_BIN: the operator binary (default build/tracing-operator).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
CHART="$root/charts/tracing-operator"
OP_BIN="${OP_BIN:-$root/build/tracing-operator}"

if [ -z "${KUBECONFIG:-}" ]; then
    echo "e2e chart: SKIPPED: KUBECONFIG is not set (no API server to install the chart into)"
    exit 0
fi
for tool in helm kubectl openssl; do
    command -v "$tool" >/dev/null || { echo "e2e chart: FAIL: $tool not found"; exit 1; }
done
PY=""
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' 2>/dev/null; then PY="$py"; break; fi
done
[ -n "$PY" ] || { echo "e2e chart: FAIL: no python3 with PyYAML"; exit 1; }

W="$(mktemp -d /tmp/chart-e2e.XXXXXX)"
PASSED=0; FAILED=0; OP_PID=""
log() { printf 'e2e chart: %s\n' "$*" >&2; }
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
expect() { local desc="$1"; shift; if "$@" >/dev/null 2>&1; then ok "$desc"; else bad "$desc"; fi; }

# Namespaces are unique per run: without kube-controller-manager a deleted namespace stays
# Terminating for good.
sfx="$(date +%s)-$$"
REL_A=chart-e2e NS_A="chart-e2e-$sfx"
REL_B=chart-e2e-ss NS_B="chart-e2e-ss-$sfx"
NS_APP="chart-e2e-app-$sfx"
FULL_A="$REL_A-tracing-operator" FULL_B="$REL_B-tracing-operator"
CRDS="tracingmodels.tracemodel.dev instrumentations.tracemodel.dev"

cleanup() {
    if [ -n "$OP_PID" ]; then kill "$OP_PID" 2>/dev/null; wait "$OP_PID" 2>/dev/null; fi
    helm uninstall "$REL_A" -n "$NS_A" >/dev/null 2>&1
    helm uninstall "$REL_B" -n "$NS_B" >/dev/null 2>&1
    kubectl delete namespace "$NS_A" "$NS_B" "$NS_APP" --wait=false >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { local t=$(( $(date +%s) + $1 )); shift; until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -ge "$t" ] && return 1; sleep 0.5; done; }
b64() { base64 -w0 <"$1"; }

# ---- certificates for the out-of-cluster webhook (CA + serving cert for 127.0.0.1)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -out "$W/ca.crt" -days 1 \
    -subj "/CN=chart-e2e-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$W/tls.key" -out "$W/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$W/ext"
openssl x509 -req -in "$W/tls.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial -days 1 \
    -extfile "$W/ext" -out "$W/tls.crt" 2>/dev/null
mkdir -p "$W/certs" && cp "$W/tls.crt" "$W/tls.key" "$W/ca.crt" "$W/certs/"
CA_B64="$(b64 "$W/ca.crt")"
WEBHOOK_PORT="$(free_port)"

# ---- first install: CRDs from crds/ (remove leftovers of other scenarios when unused)
fresh_crds=1
for c in $CRDS; do
    if kubectl get crd "$c" >/dev/null 2>&1; then
        kind="${c%%.*}"
        if [ -n "$(kubectl get "$kind" -A -o name 2>/dev/null)" ]; then
            fresh_crds=0
            log "CRD $c exists with objects in it: not deleting it; first-install CRD check skipped"
        else
            kubectl delete crd "$c" --wait=true >/dev/null 2>&1
        fi
    fi
done

log "part A: helm install $REL_A (out-of-cluster operator at https://127.0.0.1:$WEBHOOK_PORT)"
if helm install "$REL_A" "$CHART" -n "$NS_A" --create-namespace \
        -f "$root/tests/chart/values-out-of-cluster.yaml" \
        --set webhook.url="https://127.0.0.1:$WEBHOOK_PORT" --set webhook.caBundle="$CA_B64" \
        >"$W/install-a.log" 2>&1; then
    ok "helm install with the out-of-cluster values"
else
    bad "helm install with the out-of-cluster values"; sed 's/^/    /' "$W/install-a.log"
    echo "$PASSED passed, $FAILED failed"; exit 1
fi
helm get manifest "$REL_A" -n "$NS_A" >"$W/manifest-a.yaml"

for c in $CRDS; do
    if [ "$fresh_crds" = 1 ]; then
        expect "helm installed CRD $c from crds/" kubectl get crd "$c"
    fi
    expect "CRD $c is Established" kubectl wait --for=condition=Established --timeout=60s "crd/$c"
done
expect "tracingmodels are served (kubectl get tracingmodels -A)" kubectl get tracingmodels.tracemodel.dev -A
expect "instrumentations are served (kubectl get instrumentations -A)" kubectl get instrumentations.tracemodel.dev -A

# Webhook configurations: the URL and the caBundle from values.
for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
    kubectl get "$kind" "$FULL_A" -o json >"$W/$kind.json" 2>/dev/null
    if "$PY" - "$W/$kind.json" "https://127.0.0.1:$WEBHOOK_PORT" "$CA_B64" <<'PY'
import json, sys
obj = json.load(open(sys.argv[1]))
for w in obj["webhooks"]:
    cc = w["clientConfig"]
    assert cc.get("url", "").startswith(sys.argv[2] + "/"), (w["name"], cc)
    assert cc.get("caBundle") == sys.argv[3], w["name"] + ": caBundle"
    assert w["sideEffects"] == "None" and w["timeoutSeconds"] >= 1, w["name"]
PY
    then ok "$kind $FULL_A calls the URL with the caBundle"
    else bad "$kind $FULL_A calls the URL with the caBundle"; fi
done

# ---- RBAC: what the operator's ServiceAccount may and may not do
SA="system:serviceaccount:$NS_A:$FULL_A"
can() { kubectl auth can-i "$@" --as="$SA" >/dev/null 2>&1; }
# Every needed permission, as one SubjectAccessReview each (exact group/resource/subresource/
# name, whether or not an optional integration's CRD is installed).
"$PY" - "$root/tests/chart" "$FULL_A" "$SA" >"$W/sars.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from check_manifests import needs
items = []
for g, r, v, n in sorted(needs(True), key=str):
    res, _, sub = r.partition("/")
    attrs = {"group": g, "resource": res, "verb": v}
    if sub:
        attrs["subresource"] = sub
    if n:
        attrs["name"] = sys.argv[2] if n == "tracing-operator" else n
    items.append({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": sys.argv[3], "resourceAttributes": attrs}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
if kubectl create -f "$W/sars.json" -o json >"$W/sars-out.json" 2>"$W/sars.err" \
   && "$PY" - "$W/sars-out.json" <<'PY'
import json, sys
text, items, pos = open(sys.argv[1]).read(), [], 0
dec = json.JSONDecoder()
while pos < len(text):  # kubectl prints one JSON object per created review
    if text[pos].isspace():
        pos += 1
        continue
    obj, pos = dec.raw_decode(text, pos)
    items.extend(obj.get("items", [obj]))
denied = [i["spec"]["resourceAttributes"] for i in items if not i["status"].get("allowed")]
for d in denied:
    print("    denied but needed: %s" % d)
print("    %d permissions reviewed" % len(items))
sys.exit(1 if denied or len(items) < 50 else 0)
PY
then
    ok "the ServiceAccount holds every permission the operator needs (SubjectAccessReview each)"
else
    bad "the ServiceAccount lacks permissions the operator needs"; sed 's/^/    /' "$W/sars.err"
fi
denied() { local desc="$1"; shift; if can "$@"; then bad "denied: $desc"; else ok "denied: $desc"; fi; }
denied "get secrets in default" get secrets -n default
denied "list secrets in all namespaces" list secrets --all-namespaces
denied "list secrets in its own namespace (no Secret access with a mounted/url certificate)" list secrets -n "$NS_A"
denied "create pods/exec" create pods --subresource=exec -n default
denied "get pods/log" get pods --subresource=log -n default
denied "create pods" create pods -n default
denied "delete pods" delete pods -n default
denied "'*' on '*' (cluster-admin)" '*' '*'
denied "'*' verbs on deployments" '*' deployments.apps -n default
denied "escalate clusterroles" escalate clusterroles.rbac.authorization.k8s.io
denied "bind clusterroles" bind clusterroles.rbac.authorization.k8s.io
denied "create clusterrolebindings" create clusterrolebindings.rbac.authorization.k8s.io
denied "impersonate users" impersonate users
denied "delete namespaces" delete namespaces
denied "get nodes" get nodes
denied "create serviceaccounts/token" create serviceaccounts --subresource=token -n default
denied "update a CRD that is not its own" update customresourcedefinitions.apiextensions.k8s.io/foos.example.com
denied "delete its own CRDs" delete customresourcedefinitions.apiextensions.k8s.io/tracingmodels.tracemodel.dev
denied "patch a webhook configuration that is not its own" patch mutatingwebhookconfigurations.admissionregistration.k8s.io/other
denied "delete its webhook configurations" delete validatingwebhookconfigurations.admissionregistration.k8s.io/"$FULL_A"
denied "create leases (one replica: no leader election)" create leases.coordination.k8s.io -n "$NS_A"

# ---- upgrade: a CRD from an older release is brought up to date
crd_desc() { kubectl get crd tracingmodels.tracemodel.dev -o jsonpath='{.spec.versions[0].schema.openAPIV3Schema.description}'; }
want_desc="$("$PY" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(d["spec"]["versions"][0]["schema"]["openAPIV3Schema"].get("description", ""))' "$CHART/crds/tracemodel.dev_tracingmodels.yaml")"
kubectl patch crd tracingmodels.tracemodel.dev --type=json \
    -p '[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/description","value":"e2e: the previous release of this CRD"}]' \
    >/dev/null 2>&1
if helm upgrade "$REL_A" "$CHART" -n "$NS_A" -f "$root/tests/chart/values-out-of-cluster.yaml" \
        --set webhook.url="https://127.0.0.1:$WEBHOOK_PORT" --set webhook.caBundle="$CA_B64" \
        --set logLevel=debug >"$W/upgrade-a.log" 2>&1; then
    ok "helm upgrade"
else
    bad "helm upgrade"; sed 's/^/    /' "$W/upgrade-a.log"
fi
log "after helm upgrade the CRD says: '$(crd_desc)' (helm never upgrades crds/; the operator does)"

run_help="$("$OP_BIN" run --help 2>&1 || true)"
if [ -x "$OP_BIN" ] && grep -q -- '--install-crds' <<<"$run_help" && grep -q -- '--webhook-url' <<<"$run_help" \
   && grep -q -- '--cert-dir' <<<"$run_help"; then
    # The operator, run as the chart's ServiceAccount, with the chart's flags.
    token="$(kubectl create token "$FULL_A" -n "$NS_A" --duration=1h 2>/dev/null)"
    server="$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')"
    kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' \
        | base64 -d >"$W/api-ca.crt" 2>/dev/null
    [ -s "$W/api-ca.crt" ] || cp "$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')" "$W/api-ca.crt"
    cat >"$W/sa.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority: "$W/api-ca.crt"}}]
users: [{name: sa, user: {token: "$token"}}]
contexts: [{name: sa, context: {cluster: c, user: sa, namespace: "$NS_A"}}]
current-context: sa
KC
    HEALTH_PORT="$(free_port)"; METRICS_PORT="$(free_port)"
    POD_NAMESPACE="$NS_A" "$OP_BIN" run --kubeconfig "$W/sa.kubeconfig" --install-crds \
        --operator-namespace "$NS_A" --webhook-config patch --cert-mode files --cert-dir "$W/certs" \
        --webhook-url "https://127.0.0.1:$WEBHOOK_PORT" --webhook-bind-address "127.0.0.1:$WEBHOOK_PORT" \
        --health-probe-bind-address "127.0.0.1:$HEALTH_PORT" --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
        --mutating-webhook-name "$FULL_A" --validating-webhook-name "$FULL_A" \
        --webhook-service-name "$FULL_A-webhook" --webhook-secret-name "$FULL_A-webhook-cert" \
        --log-level debug >"$W/operator.log" 2>&1 &
    OP_PID=$!
    if wait_for 60 curl -sf "http://127.0.0.1:$HEALTH_PORT/readyz"; then
        ok "the operator, as the chart's ServiceAccount, becomes ready"
    else
        bad "the operator, as the chart's ServiceAccount, becomes ready"; tail -20 "$W/operator.log" | sed 's/^/    /'
    fi
    if wait_for 30 test "$(crd_desc)" = "$want_desc"; then
        ok "upgrade: the operator's --install-crds brought the CRD up to date"
    else
        bad "upgrade: the CRD still says '$(crd_desc)'"
    fi
    kubectl create namespace "$NS_APP" >/dev/null 2>&1
    if kubectl apply -n "$NS_APP" -f "$root/examples/minimal-otlp.yaml" >"$W/apply.log" 2>&1; then
        ok "a TracingModel passes the validating webhook at the URL"
    else
        bad "a TracingModel passes the validating webhook at the URL"; sed 's/^/    /' "$W/apply.log"
    fi
    kubectl delete -n "$NS_APP" -f "$root/examples/minimal-otlp.yaml" --wait=false >/dev/null 2>&1
    kubectl delete namespace "$NS_APP" --wait=false >/dev/null 2>&1
    if grep -qi 'forbidden' "$W/operator.log"; then
        bad "the operator was never refused by RBAC"; grep -i forbidden "$W/operator.log" | head -5 | sed 's/^/    /'
    else
        ok "the operator was never refused by RBAC"
    fi
    kill "$OP_PID" 2>/dev/null; wait "$OP_PID" 2>/dev/null; OP_PID=""
else
    echo "e2e chart: SKIPPED (part): $OP_BIN run has no --install-crds/--webhook-url/--cert-dir yet; the operator run as the chart's ServiceAccount (CRD upgrade, webhook at the URL) was not exercised"
    # What the operator would apply: the chart's CRD files (the binary embeds the same).
    kubectl apply --server-side --force-conflicts -f "$CHART/crds/" >/dev/null 2>&1
fi

# ---- uninstall A: every object of the release gone, CRDs kept
if helm uninstall "$REL_A" -n "$NS_A" --wait --timeout 60s >"$W/uninstall-a.log" 2>&1; then
    ok "helm uninstall"
else
    bad "helm uninstall"; sed 's/^/    /' "$W/uninstall-a.log"
fi
left_over() {  # prints "kind/name" of every object in manifest $1 that still exists
    "$PY" - "$1" "$2" <<'PY' | while read -r kind name ns; do
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d:
        print(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace", sys.argv[2]))
PY
        if kubectl get "$kind" "$name" -n "$ns" >/dev/null 2>&1; then echo "$kind/$name"; fi
    done
}
rest="$(left_over "$W/manifest-a.yaml" "$NS_A")"
nobj="$(grep -c '^kind:' "$W/manifest-a.yaml")"
if [ -z "$rest" ] && [ "$nobj" -ge 7 ]; then
    ok "helm uninstall removed all $nobj objects of the release"
else
    bad "objects left after helm uninstall: $rest"
fi
for c in $CRDS; do expect "helm uninstall keeps CRD $c" kubectl get crd "$c"; done

# ---- every template, with every option on, passes the API server's validation (dry run)
helm template "$REL_A" "$CHART" -n "$NS_B" --set replicas=3 --set networkPolicy.enabled=true \
    --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true \
    --set 'watchNamespaces={default}' --set priorityClassName=system-cluster-critical >"$W/all.yaml"
kubectl create namespace "$NS_B" >/dev/null 2>&1
"$PY" - "$W/all.yaml" "$W/served.yaml" "$(kubectl api-resources -o name 2>/dev/null | tr '\n' ' ')" <<'PY' >"$W/unserved.txt"
import sys, yaml
served = set(sys.argv[3].split())
keep = []
plural = {"ServiceMonitor": "servicemonitors.monitoring.coreos.com",
          "PrometheusRule": "prometheusrules.monitoring.coreos.com",
          "Certificate": "certificates.cert-manager.io", "Issuer": "issuers.cert-manager.io"}
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d:
        continue
    if d["kind"] in plural and plural[d["kind"]] not in served:
        print(d["kind"])
        continue
    keep.append(d)
yaml.safe_dump_all(keep, open(sys.argv[2], "w"))
PY
if kubectl apply --dry-run=server -f "$W/served.yaml" >"$W/dry.log" 2>&1; then
    ok "server-side dry run accepts every object (not served here: $(sort -u "$W/unserved.txt" | tr '\n' ' '))"
else
    bad "server-side dry run of every object"; grep -v 'warnings.go' "$W/dry.log" | sed 's/^/    /' | head -20
fi

# ---- part B: self-signed mode; what the operator writes survives helm upgrade
log "part B: helm install $REL_B (self-signed certificates)"
if helm install "$REL_B" "$CHART" -n "$NS_B" --create-namespace --set replicas=0 >"$W/install-b.log" 2>&1; then
    ok "helm install with the default (self-signed) values"
else
    bad "helm install with the default values"; sed 's/^/    /' "$W/install-b.log"
    echo "$PASSED passed, $FAILED failed"; exit 1
fi
helm get manifest "$REL_B" -n "$NS_B" >"$W/manifest-b.yaml"
SECRET_B="$FULL_B-webhook-cert"
# Do what the operator does in self-signed mode: fill the Secret, patch the caBundle.
kubectl -n "$NS_B" patch secret "$SECRET_B" --type=merge -p "{\"data\":{\"tls.crt\":\"$(b64 "$W/tls.crt")\",\"tls.key\":\"$(b64 "$W/tls.key")\",\"ca.crt\":\"$CA_B64\"}}" >/dev/null
for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
    n="$(kubectl get "$kind" "$FULL_B" -o jsonpath='{.webhooks[*].name}' | wc -w)"
    patch="["; for i in $(seq 0 $((n - 1))); do
        patch="$patch{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$CA_B64\"},"
    done; patch="${patch%,}]"
    kubectl patch "$kind" "$FULL_B" --type=json -p "$patch" >/dev/null
done
if helm upgrade "$REL_B" "$CHART" -n "$NS_B" --set replicas=0 --set logLevel=debug >"$W/upgrade-b.log" 2>&1; then
    ok "helm upgrade (self-signed)"
else
    bad "helm upgrade (self-signed)"; sed 's/^/    /' "$W/upgrade-b.log"
fi
for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
    got="$(kubectl get "$kind" "$FULL_B" -o jsonpath='{range .webhooks[*]}{.clientConfig.caBundle}{"\n"}{end}' | sort -u)"
    if [ "$got" = "$CA_B64" ]; then
        ok "helm upgrade keeps the caBundle the operator wrote into the $kind"
    else
        bad "helm upgrade lost the caBundle of the $kind"
    fi
done
if [ "$(kubectl -n "$NS_B" get secret "$SECRET_B" -o jsonpath='{.data.tls\.crt}')" = "$(b64 "$W/tls.crt")" ] \
   && [ "$(kubectl -n "$NS_B" get secret "$SECRET_B" -o jsonpath='{.data.ca\.crt}')" = "$CA_B64" ]; then
    ok "helm upgrade keeps the certificate the operator wrote into Secret $SECRET_B"
else
    bad "helm upgrade lost the certificate in Secret $SECRET_B"
fi
SA_B="system:serviceaccount:$NS_B:$FULL_B"
canb() { kubectl auth can-i "$@" --as="$SA_B" >/dev/null 2>&1; }
expect "self-signed: may get its certificate Secret" canb get "secrets/$SECRET_B" -n "$NS_B"
expect "self-signed: may update its certificate Secret" canb update "secrets/$SECRET_B" -n "$NS_B"
expect "self-signed: may create Secrets in its namespace" canb create secrets -n "$NS_B"
if canb get secrets/other -n "$NS_B"; then bad "denied: get another Secret in its namespace"; else ok "denied: get another Secret in its namespace"; fi
if canb get secrets -n default; then bad "denied: get Secrets in default"; else ok "denied: get Secrets in default"; fi
if canb update mutatingwebhookconfigurations.admissionregistration.k8s.io/"$FULL_B"; then
    ok "self-signed: may patch its own webhook configuration"
else
    bad "self-signed: may patch its own webhook configuration"
fi
if helm uninstall "$REL_B" -n "$NS_B" --wait --timeout 60s >"$W/uninstall-b.log" 2>&1; then
    ok "helm uninstall (self-signed)"
else
    bad "helm uninstall (self-signed)"; sed 's/^/    /' "$W/uninstall-b.log"
fi
rest="$(left_over "$W/manifest-b.yaml" "$NS_B")"
if [ -z "$rest" ]; then
    ok "helm uninstall removed every object, the certificate Secret included"
else
    bad "objects left after helm uninstall: $rest"
fi
for c in $CRDS; do expect "CRD $c still there" kubectl get crd "$c"; done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
