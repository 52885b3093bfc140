# shellcheck shell=bash
# lib.sh - shared setup of the chart tests (tests/cli/chart_*.sh): repository paths, a helm
# 3 binary (missing helm FAILS the test: scripts/install-helm.sh installs it), a python3
# with PyYAML (Debian python3-yaml), and pass/fail bookkeeping.
# Usage (from a test): source "$(dirname "$0")/../chart/lib.sh"

set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$REPO/charts/tracing-operator"
TESTDIR="$REPO/tests/chart"
NS=tracing-system
T_PASS=0
T_FAIL=0

die() { echo "FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

HELM="${HELM:-$(command -v helm || true)}"
[ -n "$HELM" ] || die "helm is not installed (run: bash scripts/install-helm.sh)"
"$HELM" version --short 2>/dev/null | grep -q '^v3\.' || die "$HELM is not helm 3"

PY=""
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' 2>/dev/null; then PY="$py"; break; fi
done
[ -n "$PY" ] || die "no python3 with PyYAML (apt-get install python3-yaml)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

pass() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# render NAME [helm template args...]: helm template into $WORK/NAME.yaml; 0 on success.
render() {
    local name="$1"; shift
    "$HELM" template tracing-operator "$CHART" -n "$NS" "$@" >"$WORK/$name.yaml" 2>"$WORK/$name.err"
}

# check NAME DESCRIPTION CHECKS...: runs tests/chart/check_manifests.py on a rendering.
check() {
    local name="$1" desc="$2"; shift 2
    if out="$("$PY" "$TESTDIR/check_manifests.py" "$WORK/$name.yaml" "$NS" "$@" 2>&1)"; then
        pass "$desc"
    else
        fail "$desc"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi
}

finish() {
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
}
