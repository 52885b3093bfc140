#!/usr/bin/env bash
# chart_template.sh - renders the tracing-operator chart with `helm template` for each
# certificate mode and the main switches, and checks the manifests a cluster would get:
# least-privilege RBAC without wildcards, webhook fields, security contexts, leader election,
# certificate wiring (tests/chart/check_manifests.py). Usage: chart_template.sh [BINARY]
source "$(dirname "$0")/../chart/lib.sh"

KINDS_DEFAULT="ClusterRole,ClusterRoleBinding,Deployment,MutatingWebhookConfiguration,PodDisruptionBudget,Role,RoleBinding,Secret,Service,Service,ServiceAccount,ValidatingWebhookConfiguration"

if render default; then
    check default "defaults: exactly the expected objects" "kinds=$KINDS_DEFAULT"
    check default "defaults: RBAC has no wildcard, Secrets only in a namespaced Role" rbac
    check default "defaults: ClusterRole grants exactly what the operator uses" rbac-exact=install
    check default "defaults: webhook configurations carry the required fields" webhooks
    check default "defaults: hardened security contexts, probes, resources" security
    check default "defaults: one replica, no leader election" leader=off
    check default "defaults: self-signed certificate mode" certmode=self-signed
    check default "defaults: --install-crds" crds-install=on
    check default "defaults: all namespaces watched" watch=
    check default "defaults: image tag is the appVersion" \
        "image=ghcr.io/tracemodel/tracing-operator:$(awk '/^appVersion:/{gsub(/"/,"",$2); print $2}' "$CHART/Chart.yaml")"
    check default "defaults: names and namespaces" names
    check default "defaults: no optional monitoring objects" absent=ServiceMonitor,PrometheusRule,NetworkPolicy,Certificate,Issuer
else
    fail "helm template with default values"; sed 's/^/    /' "$WORK/default.err"
fi

if render nowl --set webhook.workloads.warnings=false; then
    if grep -q "vworkload.tracemodel.dev" "$WORK/nowl.yaml" || ! grep -q "vtracingmodel.tracemodel.dev" "$WORK/nowl.yaml"; then
        fail "webhook.workloads.warnings=false leaves only the workload webhook out"
    else
        pass "webhook.workloads.warnings=false leaves only the workload webhook out"
    fi
else
    fail "helm template webhook.workloads.warnings=false"; sed 's/^/    /' "$WORK/nowl.err"
fi

if render ha --set replicas=3; then
    check ha "replicas=3: leader election on, Lease in the release namespace" leader=on
    check ha "replicas=3: RBAC still least privilege" rbac
else
    fail "helm template replicas=3"; sed 's/^/    /' "$WORK/ha.err"
fi
if render le1 --set leaderElection.enabled=true; then
    check le1 "leaderElection.enabled with one replica" leader=on
else
    fail "helm template leaderElection.enabled"; sed 's/^/    /' "$WORK/le1.err"
fi

if render cm --set webhook.certMode=cert-manager; then
    check cm "cert-manager: Issuer, Certificate, inject-ca-from, mounted certificate" certmode=cert-manager
    check cm "cert-manager: RBAC and webhooks" rbac webhooks security names
else
    fail "helm template certMode=cert-manager"; sed 's/^/    /' "$WORK/cm.err"
fi
if render cmi --set webhook.certMode=cert-manager --set webhook.certManager.issuerRef.name=corp-ca \
        --set webhook.certManager.issuerRef.kind=ClusterIssuer; then
    if "$PY" - "$WORK/cmi.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert not [d for d in docs if d["kind"] == "Issuer"], "own Issuer made although issuerRef is set"
cert = [d for d in docs if d["kind"] == "Certificate"][0]
assert cert["spec"]["issuerRef"] == {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}, cert["spec"]["issuerRef"]
PY
    then pass "cert-manager with issuerRef uses that issuer and makes none"
    else fail "cert-manager with issuerRef uses that issuer and makes none"; fi
else
    fail "helm template certMode=cert-manager issuerRef"; sed 's/^/    /' "$WORK/cmi.err"
fi

CA="$(printf 'not really a CA' | base64 | tr -d '\n')"
if render sec --set webhook.certMode=secret --set webhook.secret.name=my-tls --set webhook.caBundle="$CA"; then
    check sec "secret: user's Secret mounted, caBundle from values, no Secret RBAC" certmode=secret
    check sec "secret: RBAC and webhooks" rbac webhooks security absent=Certificate,Issuer,Secret
    if grep -q "secretName: my-tls" "$WORK/sec.yaml" && [ "$(grep -c "caBundle: $CA" "$WORK/sec.yaml")" = 5 ]; then
        pass "secret: my-tls mounted and caBundle in all five webhooks"
    else
        fail "secret: my-tls mounted and caBundle in all five webhooks"
    fi
else
    fail "helm template certMode=secret"; sed 's/^/    /' "$WORK/sec.err"
fi

if render url --set replicas=0 --set webhook.url=https://127.0.0.1:9443 --set webhook.caBundle="$CA"; then
    check url "webhook.url: configurations call the URL with the caBundle, no Service" certmode=url webhooks
    if grep -q 'url: "https://127.0.0.1:9443/mutate-v1-pod"' "$WORK/url.yaml"; then
        pass "webhook.url: pod webhook URL is base + /mutate-v1-pod"
    else
        fail "webhook.url: pod webhook URL is base + /mutate-v1-pod"
    fi
else
    fail "helm template webhook.url"; sed 's/^/    /' "$WORK/url.err"
fi

if render nocrd --set crds.install=false; then
    check nocrd "crds.install=false: no --install-crds, no write access to CRDs" crds-install=off rbac-exact=noinstall
else
    fail "helm template crds.install=false"; sed 's/^/    /' "$WORK/nocrd.err"
fi

if render watch --set 'watchNamespaces={shop,billing}'; then
    check watch "watchNamespaces: --namespace flags and pod webhook limited to them" watch=shop,billing webhooks
else
    fail "helm template watchNamespaces"; sed 's/^/    /' "$WORK/watch.err"
fi

DIGEST="sha256:$(printf '%064d' 7)"
if render digest --set image.digest="$DIGEST" --set image.tag=9.9.9; then
    check digest "image digest pins the image" "image=ghcr.io/tracemodel/tracing-operator:9.9.9@$DIGEST"
else
    fail "helm template image.digest"; sed 's/^/    /' "$WORK/digest.err"
fi

if render full --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true \
        --set networkPolicy.enabled=true --set priorityClassName=system-cluster-critical \
        --set 'nodeSelector.kubernetes\.io/os=linux' --set 'tolerations[0].operator=Exists' \
        --set 'imagePullSecrets[0].name=regcred' --set logLevel=debug --set concurrency=4; then
    check full "optional objects render with the standard names" names rbac security webhooks
    if "$PY" - "$WORK/full.yaml" <<'PY'
import sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
for k in ("ServiceMonitor", "PrometheusRule", "NetworkPolicy"):
    assert k in docs, k + " missing"
sm = docs["ServiceMonitor"]["spec"]
assert sm["endpoints"][0]["port"] == "metrics", sm
alerts = [r["alert"] for r in docs["PrometheusRule"]["spec"]["groups"][0]["rules"]]
assert "TracingOperatorDown" in alerts, alerts
np = docs["NetworkPolicy"]["spec"]
ports = {p["port"] for r in np["ingress"] for p in r["ports"]}
assert {9443, 8080, 8081} <= ports, ports
spec = docs["Deployment"]["spec"]["template"]["spec"]
assert spec["priorityClassName"] == "system-cluster-critical"
assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
assert spec["tolerations"] == [{"operator": "Exists"}]
assert spec["imagePullSecrets"] == [{"name": "regcred"}]
args = spec["containers"][0]["args"]
assert "--log-level=debug" in args and "--concurrency=4" in args, args
PY
    then pass "ServiceMonitor, PrometheusRule, NetworkPolicy and pod scheduling values applied"
    else fail "ServiceMonitor, PrometheusRule, NetworkPolicy and pod scheduling values applied"; fi
else
    fail "helm template with every option"; sed 's/^/    /' "$WORK/full.err"
fi

# The chart's default Instrumentation images are the operator's built-in ones.
if "$PY" - "$CHART/values.yaml" "$REPO/src/model/instrumentation.c" <<'PY'
import re, sys, yaml
images = yaml.safe_load(open(sys.argv[1]))["instrumentation"]["images"]
src = open(sys.argv[2]).read()
builtin = dict(re.findall(r'"([^"\s]*autoinstrumentation-(java|nodejs|python|dotnet|go):[^"]+)"', src))
builtin = {lang: img for img, lang in builtin.items()}
assert builtin, "no built-in images found in " + sys.argv[2]
diff = {k: (images.get(k), builtin[k]) for k in builtin if images.get(k) != builtin[k]}
assert not diff and set(images) == set(builtin), "values vs built-in: %s" % diff
PY
then pass "instrumentation.images defaults are the operator's built-in images"
else fail "instrumentation.images defaults are the operator's built-in images"; fi

LONG=release-name-that-is-as-long-as-helm-allows-it-to-be
if "$HELM" template "$LONG" "$CHART" -n "$NS" --set webhook.certMode=cert-manager --set replicas=2 \
        >"$WORK/long.yaml" 2>"$WORK/long.err"; then
    check long "a long release name still gives valid names" names
else
    fail "helm template with a long release name"; sed 's/^/    /' "$WORK/long.err"
fi

finish
