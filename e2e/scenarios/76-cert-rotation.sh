#!/usr/bin/env bash
# 76-cert-rotation.sh - fault injection 6: the webhook's serving certificate is rotated
# while under load. The operator runs with --cert-mode files; a CA and two serving
# certificates (serials 0x1001, 0x2002) are made with openssl. Two loads run at once:
# bench_webhook's keep-alive client (when built next to the operator) and a client that
# opens a NEW TLS connection for every request (each one a handshake, verified against
# the CA only). Mid-load the files are swapped (temp file + mv, key first, so the server
# may briefly see a pair that does not match). Pass: no failed handshake or request in
# either load, and connections made after the swap see the new serial (and never the old
# one again once the new one appeared).
set -euo pipefail
. "$E2E_ROOT/e2e/lib.sh"
cd "$E2E_ROOT"
LOAD_S=${E2E_ROTATION_LOAD_S:-30} ROTATE_AT=10
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; e2e_stop_operator C; e2e_cleanup_webhooks' EXIT
D=$E2E_DIR/rotation; CD=$D/certs
mkdir -p "$D" "$CD"

# a CA and two serving certificates for 127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/ca.key" -out "$D/ca.crt" -days 2 -subj /CN=fault-ca 2>/dev/null
printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment \
  extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >"$D/ext"
for s in 1001 2002; do
  openssl req -newkey rsa:2048 -nodes -keyout "$D/$s.key" -out "$D/$s.csr" -subj "/CN=webhook-$s" 2>/dev/null
  openssl x509 -req -in "$D/$s.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -set_serial "0x$s" -days 2 \
    -extfile "$D/ext" -out "$D/$s.crt" 2>/dev/null
done
cp "$D/ca.crt" "$CD/ca.crt"; cp "$D/1001.crt" "$CD/tls.crt"; cp "$D/1001.key" "$CD/tls.key"

# the operator with --cert-mode files (e2e_start_operator is self-signed)
probe=$(e2e_free_port) metrics=$(e2e_free_port) hook=$(e2e_free_port)
kubectl create namespace tracing-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
"$OP_BIN" run --kubeconfig "$KUBECONFIG" --install-crds --operator-namespace tracing-system \
  --health-probe-bind-address "127.0.0.1:$probe" --metrics-bind-address "127.0.0.1:$metrics" \
  --webhook-bind-address "127.0.0.1:$hook" --cert-mode files --cert-dir "$CD" \
  --webhook-config manage --webhook-url "https://127.0.0.1:$hook" --log-level debug \
  >"$E2E_DIR/operator-C.log" 2>&1 &
export OP_C_PID=$!
e2e_wait 60 curl -sf "http://127.0.0.1:$probe/readyz" || { e2e_fail "the operator did not become ready"; tail -20 "$E2E_DIR/operator-C.log" >&2; exit 1; }
e2e_wait 60 e2e_webhooks_point_at "$hook" || { e2e_fail "the webhooks were not registered"; exit 1; }
e2e_wait 30 curl -sf --cacert "$D/ca.crt" -X POST -H 'Content-Type: application/json' \
  --data-binary @bench/webhook/fixtures/admission-review.json "https://127.0.0.1:$hook/mutate-v1-pod" \
  || { e2e_fail "the webhook does not answer over TLS with the CA"; exit 1; }

# load 1: a new connection (handshake) per request
cat >"$D/handshakes.py" <<'PY'
import http.client, json, ssl, sys, time
port, cafile, body_file, duration = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
ctx = ssl.create_default_context(cafile=cafile)
body = open(body_file, "rb").read()
t0 = time.time(); n = fails = 0; errors = []; seq = []
while time.time() - t0 < duration:
    n += 1
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.connect()
        serial = c.sock.getpeercert()["serialNumber"]
        c.request("POST", "/mutate-v1-pod", body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); c.close()
        if r.status != 200:
            raise RuntimeError("HTTP %d" % r.status)
        if not seq or seq[-1][1] != serial:
            seq.append((round(time.time() - t0, 2), serial))
    except Exception as e:
        fails += 1
        if len(errors) < 10: errors.append("%.2fs %s" % (time.time() - t0, e))
    time.sleep(0.01)
print(json.dumps({"requests": n, "failures": fails, "errors": errors, "serials": seq}))
PY
python3 "$D/handshakes.py" "$hook" "$D/ca.crt" bench/webhook/fixtures/admission-review.json "$LOAD_S" >"$D/handshakes.json" &
hs_pid=$!; PIDS+=($hs_pid)
# load 2: keep-alive connections (bench_webhook client), when built
bw=$(dirname "$OP_BIN")/bench_webhook
if [ -x "$bw" ]; then
  "$bw" client --url "https://127.0.0.1:$hook/mutate-v1-pod" --body bench/webhook/fixtures/admission-review.json \
    --rate 200 --duration "$LOAD_S" --threads 2 --cacert "$D/ca.crt" --check status --interval 5 \
    >"$D/keepalive.json" 2>"$D/keepalive.err" &
  bw_pid=$!; PIDS+=($bw_pid)
else
  bw_pid=; e2e_log "bench_webhook not built next to $OP_BIN: keep-alive load SKIPPED"
fi

sleep "$ROTATE_AT"
loads() { grep -c '"serving certificate loaded"' "$E2E_DIR/operator-C.log" || true; }
loads0=$(loads)
cp "$D/2002.key" "$CD/.tls.key.tmp"; mv "$CD/.tls.key.tmp" "$CD/tls.key"
cp "$D/2002.crt" "$CD/.tls.crt.tmp"; mv "$CD/.tls.crt.tmp" "$CD/tls.crt"
e2e_log "rotated to serial 2002 at ${ROTATE_AT}s"

rc=0; wait "$hs_pid" || rc=$?
[ "$rc" = 0 ] || { e2e_fail "the handshake client crashed"; exit 1; }
cat "$D/handshakes.json" >&2
python3 - "$D/handshakes.json" "$ROTATE_AT" <<'PY' || { e2e_fail "new-connection load failed (above)"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1])); at = float(sys.argv[2])
assert r["failures"] == 0, "%d failed handshakes/requests of %d" % (r["failures"], r["requests"])
serials = [s for _, s in r["serials"]]
assert serials[0] == "1001", "the first serial seen is %s" % serials[0]
assert serials == ["1001", "2002"], "serials went %s (want 1001 then 2002, once)" % serials
switch = r["serials"][1][0] - at
assert switch < 15, "the new certificate was served %.1fs after the swap" % switch
print("e2e: %d handshakes, 0 failed; new serial served %.1fs after the swap" % (r["requests"], switch), file=sys.stderr)
PY
if [ -n "$bw_pid" ]; then
  rc=0; wait "$bw_pid" || rc=$?
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
keys = {k: r[k] for k in r if k not in ("intervals",)}
print("e2e: keep-alive load:", json.dumps(keys)[:600], file=sys.stderr)' "$D/keepalive.json" || true
  [ "$rc" = 0 ] || { e2e_fail "the keep-alive load saw failed requests (exit $rc)"; tail -5 "$D/keepalive.err" >&2; exit 1; }
fi
[ "$(loads)" -gt "$loads0" ] || { e2e_fail "no reload in the operator log"; exit 1; }
kill -0 "$OP_C_PID" || { e2e_fail "the operator died"; exit 1; }
