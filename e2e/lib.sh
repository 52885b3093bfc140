#!/usr/bin/env bash
# lib.sh - e2e helpers: start/stop a throwaway control plane (etcd + kube-apiserver
# [+ kube-controller-manager]) on loopback, assertions, and the operator process.
# Sourced by e2e/run.sh and by the scenario scripts.

e2e_log() { printf 'e2e: %s\n' "$*" >&2; }
e2e_fail() { printf 'e2e: FAIL: %s\n' "$*" >&2; return 1; }

# A free TCP port on 127.0.0.1.
e2e_free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# e2e_wait SECONDS CMD...: retries CMD every 0.5 s until it succeeds or time runs out.
e2e_wait() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}

# Starts etcd + kube-apiserver (binary $KUBE_APISERVER) and, when $KUBE_CONTROLLER_MANAGER
# is executable, kube-controller-manager. Writes $E2E_DIR/admin.kubeconfig and exports
# KUBECONFIG. Token auth; certificates made on the fly with openssl.
e2e_start_control_plane() {
  local D=$E2E_DIR P=$E2E_DIR/pki
  mkdir -p "$P"
  openssl genrsa -out "$P/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -nodes -key "$P/ca.key" -sha256 -days 2 -subj "/CN=e2e-ca" -out "$P/ca.crt" 2>/dev/null
  openssl genrsa -out "$P/apiserver.key" 2048 2>/dev/null
  openssl req -new -key "$P/apiserver.key" -subj "/CN=kube-apiserver" -out "$P/apiserver.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" \
    > "$P/apiserver.ext"
  openssl x509 -req -in "$P/apiserver.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
    -sha256 -extfile "$P/apiserver.ext" -out "$P/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$P/sa.key" 2048 2>/dev/null
  openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
  E2E_TOKEN=$(openssl rand -hex 16)
  export E2E_TOKEN
  echo "$E2E_TOKEN,admin,admin-uid,system:masters" > "$D/tokens.csv"

  local etcd_port etcd_peer
  etcd_port=$(e2e_free_port); etcd_peer=$(e2e_free_port)
  E2E_API_PORT=$(e2e_free_port)
  export E2E_API_PORT
  etcd --name e2e --data-dir "$D/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer" >"$D/etcd.log" 2>&1 &
  echo $! >"$D/etcd.pid"
  e2e_wait 30 curl -sf "http://127.0.0.1:$etcd_port/health" || { e2e_fail "etcd did not start (see $D/etcd.log)"; return 1; }
  export E2E_ETCD_PORT=$etcd_port
  e2e_start_apiserver || return 1

  cat >"$D/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$E2E_API_PORT
    certificate-authority: $P/ca.crt
users:
- name: admin
  user:
    token: $E2E_TOKEN
contexts:
- name: e2e
  context: {cluster: e2e, user: admin, namespace: default}
current-context: e2e
KC
  export KUBECONFIG=$D/admin.kubeconfig

  if [ -n "${KUBE_CONTROLLER_MANAGER:-}" ] && [ -x "$KUBE_CONTROLLER_MANAGER" ]; then
    local kcm_port; kcm_port=$(e2e_free_port)
    "$KUBE_CONTROLLER_MANAGER" --kubeconfig="$D/admin.kubeconfig" --bind-address=127.0.0.1 \
      --secure-port="$kcm_port" --controllers='*' --leader-elect=false --use-service-account-credentials=false \
      --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" --cert-dir="$D/kcm-certs" \
      >"$D/kcm.log" 2>&1 &
    echo $! >"$D/kcm.pid"
    if e2e_wait 60 e2e_url_is_ok "https://127.0.0.1:$kcm_port/healthz"; then
      export E2E_HAVE_KCM=1
    else
      e2e_log "kube-controller-manager did not become healthy (see $D/kcm.log); garbage-collection checks will be skipped"
    fi
  fi
}

# e2e_url_is_ok URL: the body is exactly "ok" (readyz lists "[+]... ok" lines while not ready).
e2e_url_is_ok() { [ "$(curl -sk --max-time 2 "$1")" = ok ]; }

e2e_apiserver_ready() {
  [ "$(curl -sk --max-time 2 -H "Authorization: Bearer $E2E_TOKEN" "https://127.0.0.1:$E2E_API_PORT/readyz")" = ok ]
}

# (Re)starts kube-apiserver against the running etcd on the same port.
e2e_start_apiserver() {
  local D=$E2E_DIR P=$E2E_DIR/pki
  "$KUBE_APISERVER" --etcd-servers="http://127.0.0.1:$E2E_ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$E2E_API_PORT" \
    --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
    --token-auth-file="$D/tokens.csv" \
    --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --authorization-mode=Node,RBAC --service-cluster-ip-range=10.0.0.0/24 \
    --endpoint-reconciler-type=none --cert-dir="$D/kas-certs" >>"$D/kas.log" 2>&1 &
  echo $! >"$D/kas.pid"
  e2e_wait 90 e2e_apiserver_ready || { e2e_fail "kube-apiserver did not become ready (see $D/kas.log)"; return 1; }
}

e2e_stop_apiserver() {
  local pid; pid=$(cat "$E2E_DIR/kas.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

e2e_stop_control_plane() {
  local f pid
  for f in kcm kas etcd; do
    pid=$(cat "$E2E_DIR/$f.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for f in kcm kas etcd; do
    pid=$(cat "$E2E_DIR/$f.pid" 2>/dev/null) || continue
    kill -9 "$pid" 2>/dev/null || true
  done
}

# e2e_start_operator NAME [flags...]: runs `tracing-operator run` out of cluster against
# $KUBECONFIG with its webhook on a loopback port (self-signed certificates, webhook
# configurations managed by the operator and pointing at that port). Exports
# OP_<NAME>_PID, OP_<NAME>_PROBE (health port) and OP_<NAME>_METRICS. Logs go to
# $E2E_DIR/operator-NAME.log.
e2e_start_operator() {
  local name=$1; shift
  local probe metrics hook
  probe=$(e2e_free_port); metrics=$(e2e_free_port); hook=${E2E_WEBHOOK_PORT:-$(e2e_free_port)}
  export E2E_WEBHOOK_PORT=$hook
  kubectl create namespace tracing-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  "$OP_BIN" run --kubeconfig "$KUBECONFIG" --install-crds \
    --operator-namespace tracing-system \
    --health-probe-bind-address "127.0.0.1:$probe" --metrics-bind-address "127.0.0.1:$metrics" \
    --webhook-bind-address "127.0.0.1:$hook" --cert-mode self-signed --webhook-host 127.0.0.1 \
    --webhook-config manage --webhook-url "https://127.0.0.1:$hook" \
    --log-level debug "$@" >"$E2E_DIR/operator-$name.log" 2>&1 &
  local pid=$!
  eval "export OP_${name}_PID=$pid OP_${name}_PROBE=$probe OP_${name}_METRICS=$metrics OP_${name}_HOOK=$hook"
  if ! e2e_wait 60 curl -sf "http://127.0.0.1:$probe/healthz"; then
    e2e_fail "operator $name did not become healthy; log tail:"; tail -20 "$E2E_DIR/operator-$name.log" >&2
    return 1
  fi
  # Ready means a usable webhook certificate; then wait until the webhook configurations
  # point at this process (a previous scenario's operator may have registered another port).
  case " $* " in *" --leader-elect "*) return 0;; esac
  if ! e2e_wait 60 e2e_webhooks_point_at "$hook"; then
    e2e_fail "operator $name never registered its webhooks on port $hook; log tail:"
    tail -20 "$E2E_DIR/operator-$name.log" >&2
    return 1
  fi
}

# e2e_webhooks_point_at PORT: every webhook of both configurations calls 127.0.0.1:PORT.
e2e_webhooks_point_at() {
  local urls
  urls=$(kubectl get mutatingwebhookconfiguration,validatingwebhookconfiguration tracing-operator \
    -o jsonpath='{range .items[*].webhooks[*]}{.clientConfig.url}{"\n"}{end}' 2>/dev/null) || return 1
  [ -n "$urls" ] && ! grep -qv "^https://127.0.0.1:$1/" <<<"$urls"
}

e2e_stop_operator() {
  local name=$1 pid
  pid=$(eval "echo \${OP_${name}_PID:-}")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# e2e_jsonpath JSONPATH KUBECTL-GET-ARGS...: prints a field (empty when absent or on error).
e2e_jsonpath() { local jp=$1; shift; kubectl get "$@" -o "jsonpath=$jp" 2>/dev/null || true; }

# e2e_field_equals WANT JSONPATH ARGS...: for e2e_wait.
e2e_field_equals() { local want=$1; shift; [ "$(e2e_jsonpath "$@")" = "$want" ]; }

# e2e_generation_observed NS/NAME: status.observedGeneration == metadata.generation.
e2e_generation_observed() {
  local g o
  g=$(e2e_jsonpath '{.metadata.generation}' -n "${1%/*}" tracingmodel "${1#*/}")
  o=$(e2e_jsonpath '{.status.observedGeneration}' -n "${1%/*}" tracingmodel "${1#*/}")
  [ -n "$g" ] && [ "$g" = "$o" ]
}

# e2e_cleanup_webhooks: removes the webhook configurations a managed-mode operator made, so
# a stopped operator's validating webhook (failurePolicy Fail) cannot refuse the next
# scenario's TracingModels.
e2e_cleanup_webhooks() {
  kubectl delete mutatingwebhookconfiguration,validatingwebhookconfiguration tracing-operator \
    --ignore-not-found >/dev/null 2>&1 || true
}
