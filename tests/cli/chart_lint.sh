#!/usr/bin/env bash
# chart_lint.sh - `helm lint --strict` of the tracing-operator chart with the default values
# and with each webhook certificate mode and option set, that Chart.yaml's appVersion is
# the project version (CMakeLists.txt), and that `helm package` makes an archive with the
# CRDs in it. Usage: chart_lint.sh [BINARY]
source "$(dirname "$0")/../chart/lib.sh"

CA="$(printf 'ca' | base64)"
lint() {
    local desc="$1"; shift
    if out="$("$HELM" lint --strict "$CHART" --namespace "$NS" "$@" 2>&1)"; then
        pass "helm lint --strict: $desc"
    else
        fail "helm lint --strict: $desc"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi
}
lint "default values"
lint "certMode=self-signed, 3 replicas" --set webhook.certMode=self-signed --set replicas=3
lint "certMode=cert-manager" --set webhook.certMode=cert-manager
lint "certMode=cert-manager with an issuerRef" --set webhook.certMode=cert-manager \
    --set webhook.certManager.issuerRef.name=corp --set webhook.certManager.issuerRef.kind=ClusterIssuer
lint "certMode=secret" --set webhook.certMode=secret --set webhook.secret.name=my-tls --set webhook.caBundle="$CA"
lint "out-of-cluster operator (webhook.url)" -f "$TESTDIR/values-out-of-cluster.yaml" --set webhook.caBundle="$CA"
lint "every optional object" --set metrics.serviceMonitor.enabled=true \
    --set metrics.prometheusRule.enabled=true --set networkPolicy.enabled=true \
    --set crds.install=false --set 'watchNamespaces={a,b}'

# A lint that must fail, so the lint above is known to look at the values.
if "$HELM" lint --strict "$CHART" --set webhook.certMode=bogus >/dev/null 2>&1; then
    fail "helm lint --strict rejects webhook.certMode=bogus"
else
    pass "helm lint --strict rejects webhook.certMode=bogus"
fi

project_version="$(sed -n 's/^project([^)]*VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")"
app_version="$(awk '/^appVersion:/{gsub(/"/,"",$2); print $2}' "$CHART/Chart.yaml")"
chart_version="$(awk '/^version:/{print $2}' "$CHART/Chart.yaml")"
if [ -n "$project_version" ] && [ "$app_version" = "$project_version" ] && [ "$chart_version" = "$project_version" ]; then
    pass "Chart.yaml version and appVersion are the project version $project_version"
else
    fail "Chart.yaml version '$chart_version' / appVersion '$app_version' differ from CMakeLists.txt '$project_version'"
fi
if grep -q '^apiVersion: v2$' "$CHART/Chart.yaml"; then
    pass "Chart.yaml apiVersion v2"
else
    fail "Chart.yaml apiVersion v2"
fi

if "$HELM" package "$CHART" -d "$WORK" >"$WORK/package.out" 2>&1; then
    tgz="$WORK/tracing-operator-$chart_version.tgz"
    listing="$(tar -tzf "$tgz")"
    missing=""
    for f in Chart.yaml values.yaml values.schema.json README.md templates/NOTES.txt; do
        grep -qx "tracing-operator/$f" <<<"$listing" || missing="$missing $f"
    done
    ncrd="$(grep -c '^tracing-operator/crds/.*\.yaml$' <<<"$listing" || true)"
    if [ -z "$missing" ] && [ "$ncrd" -ge 2 ]; then
        pass "helm package: archive has the chart files and $ncrd CRDs"
    else
        fail "helm package: archive lacks$missing (CRDs in it: $ncrd, want >= 2)"
    fi
else
    fail "helm package"; sed 's/^/    /' "$WORK/package.out"
fi

finish
