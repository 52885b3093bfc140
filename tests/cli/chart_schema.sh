#!/usr/bin/env bash
# chart_schema.sh - values.schema.json makes bad values fail at install with a message that
# names the value, and accepts the documented good ones. Usage: chart_schema.sh [BINARY]
source "$(dirname "$0")/../chart/lib.sh"

# rejects DESCRIPTION EXPECTED-TEXT-IN-ERROR helm-args...
rejects() {
    local desc="$1" want="$2"; shift 2
    if "$HELM" template tracing-operator "$CHART" -n "$NS" "$@" >/dev/null 2>"$WORK/err"; then
        fail "rejects $desc: helm template succeeded"
    elif grep -qF -- "$want" "$WORK/err"; then
        pass "rejects $desc ($(grep -F -- "$want" "$WORK/err" | head -n1 | sed 's/^[- ]*//'))"
    else
        fail "rejects $desc: error does not mention '$want'"
        sed 's/^/    /' "$WORK/err"
    fi
}
accepts() {
    local desc="$1"; shift
    if "$HELM" template tracing-operator "$CHART" -n "$NS" "$@" >/dev/null 2>"$WORK/err"; then
        pass "accepts $desc"
    else
        fail "accepts $desc"; sed 's/^/    /' "$WORK/err"
    fi
}

CA="$(printf 'ca' | base64)"
rejects 'replicas: "two"' "replicas" --set-string replicas=two
rejects "replicas: -1" "replicas" --set replicas=-1
rejects "webhook.certMode: bogus" "webhook.certMode" --set webhook.certMode=bogus
rejects "certMode secret without a Secret name" "webhook.secret.name" \
    --set webhook.certMode=secret --set webhook.caBundle="$CA"
rejects "certMode secret without a caBundle" "webhook.caBundle" \
    --set webhook.certMode=secret --set webhook.secret.name=my-tls
rejects "webhook.url without a caBundle" "webhook.caBundle" --set webhook.url=https://10.0.0.1:9443
rejects "webhook.url over plain http" "webhook.url" --set webhook.url=http://op:9443 --set webhook.caBundle="$CA"
rejects "webhook.pods.failurePolicy: Maybe" "webhook.pods.failurePolicy" --set webhook.pods.failurePolicy=Maybe
rejects "webhook.timeoutSeconds: 60 (API server maximum is 30)" "webhook.timeoutSeconds" --set webhook.timeoutSeconds=60
rejects "logLevel: loud" "logLevel" --set logLevel=loud
rejects "image.digest without sha256:" "image.digest" --set image.digest=abc
rejects "a misspelt key (webhok)" "webhok" --set webhok.certMode=secret
rejects "a misspelt nested key (webhook.certmode)" "certmode" --set webhook.certmode=secret
rejects "watchNamespaces with an invalid name" "watchNamespaces" --set 'watchNamespaces={Shop_1}'
rejects "webhook.port 70000" "webhook.port" --set webhook.port=70000
rejects "resources with a bad quantity" "resources" --set resources.limits.memory=lots
rejects "certManager.duration: 1 year" "duration" --set webhook.certMode=cert-manager \
    --set-string 'webhook.certManager.duration=1 year'
rejects "namespaceSelector with an unknown operator" "matchExpressions.0.operator" \
    --set 'webhook.namespaceSelector.matchExpressions[0].key=a' \
    --set 'webhook.namespaceSelector.matchExpressions[0].operator=Like'

accepts "default values"
accepts "replicas 0 with an out-of-cluster webhook" -f "$TESTDIR/values-out-of-cluster.yaml" --set webhook.caBundle="$CA"
accepts "securityContext.runAsUser null (platform-assigned UID)" --set securityContext.runAsUser=null \
    --set securityContext.runAsGroup=null
accepts "podDisruptionBudget.maxUnavailable 50%" --set-string podDisruptionBudget.maxUnavailable=50%
accepts "a namespaceSelector with matchLabels" --set 'webhook.namespaceSelector.matchLabels.team=shop'

if "$PY" "$TESTDIR/gen_schema.py" --check 2>"$WORK/err"; then
    pass "values.schema.json is what tests/chart/gen_schema.py generates"
else
    fail "values.schema.json is stale"; sed 's/^/    /' "$WORK/err"
fi
# Every value in values.yaml is described by the schema (additionalProperties false).
if "$PY" - "$CHART/values.yaml" "$CHART/values.schema.json" <<'PY'
import json, sys, yaml
values = yaml.safe_load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
missing = []
def walk(v, s, path):
    if not isinstance(v, dict) or "properties" not in s:
        return
    for k, sub in v.items():
        if k not in s["properties"]:
            missing.append(path + k)
        else:
            walk(sub, s["properties"][k], path + k + ".")
walk(values, schema, "")
if missing:
    sys.exit("values without a schema entry: " + ", ".join(missing))
PY
then pass "every value in values.yaml has a schema entry"
else fail "every value in values.yaml has a schema entry"; fi

finish
