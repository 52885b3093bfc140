#!/usr/bin/env bash
# run.sh - the e2e suite against a real API server.
#
# Which API server:
#   KUBECONFIG=...                 an existing cluster (kind or any other); nothing is started
#   KUBE_APISERVER=/path/binary    a local control plane is started from Debian's etcd and this
#                                  kube-apiserver (plus KUBE_CONTROLLER_MANAGER if given), on
#                                  loopback only, and torn down at the end
# With neither, it prints "e2e: skipped (no API server)" and exits 0: never a silent pass.
# OP_BIN is the tracing-operator binary (default build/tracing-operator).
# E2E_ONLY=name runs one scenario (e2e/scenarios/<name>.sh).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/lib.sh"
export OP_BIN="${OP_BIN:-$root/build/tracing-operator}"
export E2E_ROOT="$root"

if [ -z "${KUBECONFIG:-}" ] && [ -z "${KUBE_APISERVER:-}" ]; then
  echo "e2e: skipped (no API server): set KUBECONFIG, or KUBE_APISERVER to a kube-apiserver binary"
  exit 0
fi
command -v kubectl >/dev/null || { echo "e2e: FAIL: kubectl not found"; exit 1; }
[ -x "$OP_BIN" ] || { echo "e2e: FAIL: operator binary $OP_BIN not built"; exit 1; }

E2E_DIR=$(mktemp -d /tmp/tracing-e2e.XXXXXX)
export E2E_DIR
trap 'e2e_stop_control_plane; pkill -f "$E2E_DIR" 2>/dev/null || true' EXIT
if [ -z "${KUBECONFIG:-}" ]; then
  [ -x "$KUBE_APISERVER" ] || { echo "e2e: FAIL: KUBE_APISERVER=$KUBE_APISERVER is not executable"; exit 1; }
  e2e_log "starting etcd + kube-apiserver in $E2E_DIR"
  e2e_start_control_plane || exit 1
  export E2E_LOCAL=1
fi

passed=0; failed=0; skipped=0; failures=()
for s in "$here"/scenarios/*.sh; do
  name=$(basename "$s" .sh)
  [ -n "${E2E_ONLY:-}" ] && [ "$name" != "$E2E_ONLY" ] && continue
  if [ -n "${E2E_LOCAL:-}" ] && ! e2e_apiserver_ready; then
    e2e_log "kube-apiserver is down after the previous scenario; restarting it"
    e2e_stop_apiserver; e2e_start_apiserver || exit 1
  fi
  e2e_log "--- scenario $name"
  start=$(date +%s)
  bash "$s" >"$E2E_DIR/$name.log" 2>&1
  rc=$?
  dur=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1)); e2e_log "PASS $name (${dur}s)"
  elif [ $rc -eq 77 ]; then
    skipped=$((skipped + 1)); e2e_log "SKIP $name: $(grep -m1 'SKIPPED' "$E2E_DIR/$name.log")"
  else
    failed=$((failed + 1)); failures+=("$name")
    e2e_log "FAIL $name (${dur}s); last lines:"; tail -25 "$E2E_DIR/$name.log" | sed 's/^/    /' >&2
  fi
done
# Security: the API token must not appear in any log the run produced (operators, scenarios).
if [ -n "${E2E_TOKEN:-}" ] && grep -rlF -- "$E2E_TOKEN" "$E2E_DIR"/*.log 2>/dev/null | grep -v -e '/kas.log$' -e '/etcd.log$' -e '/kcm.log$' >"$E2E_DIR/token-leaks.txt"; then
  failed=$((failed + 1)); e2e_log "FAIL no-token-in-logs: the API token appears in: $(tr '\n' ' ' <"$E2E_DIR/token-leaks.txt")"
else
  passed=$((passed + 1)); e2e_log "PASS no-token-in-logs"
fi
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
