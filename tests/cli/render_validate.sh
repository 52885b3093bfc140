#!/usr/bin/env bash
# render_validate.sh - the render and validate commands as a user runs them: every
# example renders and validates; bad input (missing file, invalid YAML, wrong types,
# unknown fields, a 10 MiB document, not a TracingModel) gets a clear message and the
# documented exit status, never a crash.
set -uo pipefail
BIN=${1:?usage: render_validate.sh path/to/tracing-operator}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE PATTERN -- cmd...: runs cmd, checks the exit code and that stdout+stderr match PATTERN
expect() {
  local code=$1 pat=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ]; then bad "$* -> exit $rc, want $code; output: ${out:0:400}"; return; fi
  if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then bad "$* -> output lacks /$pat/: ${out:0:400}"; return; fi
  ok
}

for ex in examples/*.yaml; do
  expect 0 "" -- "$BIN" validate -f "$ex"
  expect 0 "^kind: ConfigMap" -- "$BIN" render -f "$ex"
  out=$("$BIN" render -f "$ex" -o json) && python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["kind"]=="List" and d["items"]' <<<"$out" && ok || bad "$ex: -o json is not a v1 List"
  # rendering is deterministic
  [ "$("$BIN" render -f "$ex")" = "$("$BIN" render -f "$ex")" ] && ok || bad "$ex: two renders differ"
done

# stdin works
expect 0 "^kind: " -- bash -c "\"$BIN\" render -f - < examples/minimal-otlp.yaml"

# usage and I/O errors: exit 2
expect 2 "FILE is required" -- "$BIN" render
expect 2 "No such file" -- "$BIN" render -f "$T/nope.yaml"
expect 2 "No such file" -- "$BIN" validate -f "$T/nope.yaml"
expect 2 "yaml or json" -- "$BIN" render -f examples/minimal-otlp.yaml -o xml
expect 2 "directory" -- "$BIN" render -f "$T"
expect 0 "Usage: tracing-operator render" -- "$BIN" render --help
expect 0 "Usage: tracing-operator validate" -- "$BIN" validate --help
expect 0 "Usage: tracing-operator" -- "$BIN" --help
expect 2 "unknown command" -- "$BIN" frobnicate
expect 0 "tracing-operator [0-9]" -- "$BIN" version

# invalid YAML: line and column
printf 'apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: x\nspec: [\n' > "$T/broken.yaml"
expect 1 "line [0-9]+, column [0-9]+" -- "$BIN" validate -f "$T/broken.yaml"
expect 1 "line [0-9]+, column [0-9]+" -- "$BIN" render -f "$T/broken.yaml"

# wrong type and out-of-range values name the field
cat > "$T/wrong.yaml" <<'Y'
apiVersion: tracemodel.dev/v1alpha1
kind: TracingModel
metadata: {name: shop, namespace: default}
spec:
  backend: {type: jaeger}
  sampling: {rate: 1.5}
  collector: {replicas: "three"}
Y
expect 1 "spec\.sampling\.rate: must be within \[0, 1\], got 1\.5" -- "$BIN" validate -f "$T/wrong.yaml"
expect 1 "spec\.collector\.replicas" -- "$BIN" validate -f "$T/wrong.yaml"
expect 1 "spec\.sampling\.rate" -- "$BIN" render -f "$T/wrong.yaml"

# unknown field: warning, error with --strict
cat > "$T/unknown.yaml" <<'Y'
apiVersion: tracemodel.dev/v1alpha1
kind: TracingModel
metadata: {name: shop, namespace: default}
spec:
  backend: {type: jaeger}
  samplign: {rate: 0.5}
Y
expect 0 "warning: spec\.samplign" -- "$BIN" validate -f "$T/unknown.yaml"
expect 1 "spec\.samplign" -- "$BIN" validate --strict -f "$T/unknown.yaml"
expect 0 "^kind: " -- "$BIN" render -f "$T/unknown.yaml"
expect 1 "spec\.samplign" -- "$BIN" render --strict -f "$T/unknown.yaml"

# not a TracingModel
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' > "$T/cm.yaml"
expect 1 "no TracingModel found" -- "$BIN" render -f "$T/cm.yaml"
expect 1 "not a tracemodel.dev kind" -- "$BIN" validate -f "$T/cm.yaml"
printf -- '- 1\n- 2\n' > "$T/list.yaml"
expect 1 "kind" -- "$BIN" validate -f "$T/list.yaml"
: > "$T/empty.yaml"
expect 1 "no documents" -- "$BIN" validate -f "$T/empty.yaml"

# -n fills the namespace, and conflicts are refused
expect 0 "namespace: team-a" -- "$BIN" render -f examples/minimal-otlp.yaml -n team-a
sed 's/^metadata:.*/metadata: {name: shop, namespace: other}/' "$T/unknown.yaml" > "$T/ns.yaml"
expect 1 "does not|says" -- "$BIN" render -f "$T/ns.yaml" -n team-a

# a 10 MiB document: handled (rejected or processed), never a crash, in bounded time
python3 - "$T/huge.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: big, namespace: default}\n")
    f.write("spec:\n  backend: {type: jaeger}\n  description: \"" + "x" * (10 * 1024 * 1024) + "\"\n")
PY
out=$(timeout 60 "$BIN" validate -f "$T/huge.yaml" 2>&1); rc=$?
{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } && ok || bad "10 MiB document: exit $rc: ${out:0:300}"
# binary garbage
head -c 4096 /dev/urandom > "$T/garbage.bin"
out=$("$BIN" validate -f "$T/garbage.bin" 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "binary input: exit $rc: ${out:0:300}"

# compile -o json prints a v1 List; validate and render read Lists back
"$BIN" compile -o json examples/dsl/shop.tdsl > "$T/list.json" 2>/dev/null
expect 0 "TracingModel shop/shop\): ok" -- "$BIN" validate -f "$T/list.json"
expect 0 "^kind: Deployment" -- "$BIN" render -f "$T/list.json"

echo "render_validate: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
