#!/usr/bin/env bash
# 60-chart.sh - the Helm chart against the real API server (e2e/chart.sh: install, RBAC
# matrix, upgrade keeps the caBundle, uninstall leaves only the CRDs).
set -euo pipefail
command -v helm >/dev/null || { echo "SKIPPED: helm not installed (scripts/install-helm.sh)"; exit 77; }
exec bash "$E2E_ROOT/e2e/chart.sh"
