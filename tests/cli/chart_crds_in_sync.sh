#!/usr/bin/env bash
# chart_crds_in_sync.sh - charts/tracing-operator/crds/ holds byte-identical copies of the
# project's CRDs in crds/ (copies, not symlinks: `helm package` does not follow them), the
# same set of files, each a CustomResourceDefinition of tracemodel.dev. When they differ:
#   cp crds/*.yaml charts/tracing-operator/crds/
# Usage: chart_crds_in_sync.sh [BINARY]
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SRC="$REPO/crds"
DST="$REPO/charts/tracing-operator/crds"
pass=0; failed=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }

shopt -s nullglob
src=("$SRC"/*.yaml)
dst=("$DST"/*.yaml)
want="tracemodel.dev_tracingmodels.yaml tracemodel.dev_instrumentations.yaml"
for f in $want; do
    if [ -f "$SRC/$f" ]; then ok "crds/$f exists"; else bad "crds/$f is missing (the project's CRDs are not written yet?)"; fi
done
if [ ${#src[@]} -eq 0 ]; then
    bad "crds/ has no CRD files to copy into the chart"
fi
for f in "${src[@]}"; do
    n="$(basename "$f")"
    if [ -L "$DST/$n" ]; then
        bad "charts/tracing-operator/crds/$n is a symlink (helm package does not follow it)"
    elif [ ! -f "$DST/$n" ]; then
        bad "charts/tracing-operator/crds/$n is missing (cp crds/*.yaml charts/tracing-operator/crds/)"
    elif cmp -s "$f" "$DST/$n"; then
        ok "charts/tracing-operator/crds/$n is identical to crds/$n"
    else
        bad "charts/tracing-operator/crds/$n differs from crds/$n (cp crds/*.yaml charts/tracing-operator/crds/)"
        diff -u "$f" "$DST/$n" | head -20 | sed 's/^/    /'
    fi
done
for f in "${dst[@]}"; do
    n="$(basename "$f")"
    [ -f "$SRC/$n" ] || bad "charts/tracing-operator/crds/$n has no counterpart in crds/"
done
for f in "${dst[@]}"; do
    if grep -q '^kind: CustomResourceDefinition' "$f" && grep -q '^  group: tracemodel.dev' "$f"; then
        ok "$(basename "$f") is a tracemodel.dev CustomResourceDefinition"
    else
        bad "$(basename "$f") is not a tracemodel.dev CustomResourceDefinition"
    fi
done
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
