#!/usr/bin/env bash
# make-corpus.sh - regenerates the seed corpora fuzz/corpus/<target>/ from the
# tests' fixtures and the examples (small files only; the whole corpus stays
# well under 2 MB). Run from anywhere: bash fuzz/corpus/make-corpus.sh
# Targets whose fixtures do not exist yet get no directory (scripts/fuzz.sh
# then starts them from an empty corpus).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/fuzz/corpus
max_size=16384   # skip fixtures bigger than this

# copy <target> <file>...: copies each small, existing file as <dir>_<name>
copy() {
    local target=$1
    shift
    mkdir -p "$out/$target"
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le $max_size ] || continue
        local rel=${f#"$root"/}
        cp "$f" "$out/$target/$(echo "$rel" | tr '/' '_')"
    done
}

# seed <target> <name> <text>: a hand-written seed
seed() {
    mkdir -p "$out/$1"
    printf '%s' "$3" >"$out/$1/$2"
}

for t in fuzz_yaml fuzz_model fuzz_render fuzz_condition fuzz_kubeconfig fuzz_watch \
         fuzz_dsl fuzz_admission fuzz_jsonpatch; do
    rm -rf "${out:?}/$t"
done

shopt -s nullglob globstar
fx=$root/tests/fixtures

# YAML reader: every YAML/JSON fixture, plus the awkward corners of YAML.
copy fuzz_yaml "$root"/examples/*.yaml "$fx"/model/*.yaml "$fx"/controller/*.json \
    "$fx"/kube/*.yaml "$fx"/webhook/instrumentation/*.yaml "$fx"/webhook/shared/*.yaml
seed fuzz_yaml anchors.yaml $'base: &b {a: 1, b: [x, y]}\nuse: *b\nmerge: {<<: *b, c: 2}\n'
seed fuzz_yaml tags.yaml $'s: !!str 123\ni: !!int "42"\nf: !!float 1e3\nb: !!bool true\nn: !!null ~\nx: ! 12\n'
seed fuzz_yaml scalars.yaml $'a: 0x1F\nb: 0o17\nc: -.inf\nd: .nan\ne: 1.0e+300\nf: 99999999999999999999\ng: "\\u00e9\\t"\nh: |\n  line1\n  line2\ni: >-\n  folded\n  text\nj: \'single\'\'q\'\n'
seed fuzz_yaml multidoc.yaml $'---\na: 1\n---\n---\n- b\n- [c, {d: e}]\n...\n--- ~\n--- "str"\n'
seed fuzz_yaml json.json '{"a":[1,2.5,true,null,"x"],"b":{"c":{}},"d":[]}'
seed fuzz_yaml keys.yaml $'"1": one\n"true": t\n"null": n\n"": empty\n? complex\n: v\n'

# TracingModel reader/validator and the renderers: models, valid and not.
models=("$root"/examples/*.yaml "$fx"/model/*.yaml "$fx"/controller/*.json)
copy fuzz_model "${models[@]}"
copy fuzz_render "${models[@]}"
seed fuzz_model wrong-types.yaml $'apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: x}\nspec:\n  sampling: {rate: "high", rules: 3}\n  backend: [jaeger]\n  collector: {replicas: -1, mode: cloud}\n'

# Condition language: first byte picks the rate (fuzz_condition.c), then the text.
conds=(
    'http.status_code >= 400' 'duration > 1s' 'status == ERROR' 'status != OK'
    "service.name in ['payment-service', 'order-service']" '*'
    "service.name not in ['health', 'metrics']" "http.method != 'GET'"
    'retries <= 3' 'x == -5' 'http.status_code >= 500 and http.status_code < 600'
    'http.status_code in [502, 503, 504, 429]' 'duration >= 1s and duration <= 5s'
    'duration < 100ms' 'latency > 1.5s' 'not duration > 1s' 'duration != 1s'
    'http.status_code >= 400 or duration > 1s'
    "service.name == 'a' and (status == ERROR or duration > 2s)"
    'status == ERROR or *' '* and duration > 1s' "a==1&&b!='x'"
    '(a == 1 OR b == 2) and c >= 3' 'NOT (a == 1 or b == 2)' 'not not a == 1'
    "x NOT IN [\"a\", 'b',]" 'x in some_list' 'duration > 1h30m' "name == 'it\\'s'"
    'cache.hit == true' 'error == FALSE' 'not (status == OK) and not x in [1, 2, 3, 7]'
    'http.status_code >= ' 'x in []' "x in ['a' 'b']" 'x > 10GB' 'x > 1.2.3'
    'x > 99999999999999999999' 'x > 5 and x < 3' 'duration <= 0'
    '(a == 1 or b == 1) and (c == 1 or d == 1) and (e == 1 or f == 1) and (g == 1 or h == 1)'
)
mkdir -p "$out/fuzz_condition"
i=0
for c in "${conds[@]}"; do
    printf "\\x$(printf %02x $((i % 8)))%s" "$c" >"$out/fuzz_condition/cond-$(printf %02d $i)"
    i=$((i + 1))
done

# Kubernetes client: kubeconfigs; watch streams (first two bytes: chunk size
# and max line, fuzz_watch.c), both raw and with a parameter prefix.
copy fuzz_kubeconfig "$fx"/kube/*.yaml
copy fuzz_watch "$fx"/kube/*.jsonl
for f in "$fx"/kube/*.jsonl; do
    { printf '\x07\xff'; cat "$f"; } >"$out/fuzz_watch/chunk7-$(basename "$f")"
done

# DSL: the examples and the DSL fixtures.
copy fuzz_dsl "$root"/examples/**/*.tdsl "$fx"/dsl/**/*.tdsl "$fx"/dsl/**/*.dsl
rmdir "$out/fuzz_dsl" 2>/dev/null || true

# Admission webhook (first byte: 0 mutate, 1 validate-tracingmodel, 2
# validate-instrumentation; then an AdmissionReview) and JSON Patch (first byte
# even: a pod as JSON; odd: a JSON Pointer reference token), from the webhook
# fixtures. Needs python3 with PyYAML; skipped without it.
python3 - "$fx/webhook" "$root/examples" "$out" <<'PY' || echo "make-corpus: webhook seeds skipped (python3 + PyYAML)" >&2
import glob, json, os, sys
import yaml
wh, examples, out = sys.argv[1:4]
os.makedirs(f"{out}/fuzz_admission", exist_ok=True)
os.makedirs(f"{out}/fuzz_jsonpatch", exist_ok=True)

def review(obj, kind, group, version, ns, op="CREATE"):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                        "kind": {"group": group, "version": version, "kind": kind},
                        "resource": {"group": group, "version": version,
                                     "resource": kind.lower() + "s"},
                        "namespace": ns, "operation": op, "object": obj}}

def emit(target, name, mode, doc):
    data = json.dumps(doc, separators=(",", ":")).encode()
    if len(data) > 12000:
        return
    with open(f"{out}/{target}/{name}", "wb") as f:
        f.write(bytes([mode]) + data)

for path in sorted(glob.glob(f"{wh}/mutate/*.yaml")):
    case = yaml.safe_load(open(path))
    pod = case.get("pod") if isinstance(case, dict) else None
    if not isinstance(pod, dict):
        continue
    name = os.path.basename(path)[:-5]
    emit("fuzz_admission", f"mutate-{name}", 0,
         review(pod, "Pod", "", "v1", case.get("namespace", "shop")))
    emit("fuzz_jsonpatch", f"pod-{name}", 0, pod)
models = sorted(glob.glob(f"{examples}/*.yaml")) + sorted(glob.glob(f"{wh}/shared/model-*.yaml")) \
    + sorted(glob.glob(f"{wh}/validate/model-*.yaml"))
for path in models:
    for i, doc in enumerate(yaml.safe_load_all(open(path))):
        if isinstance(doc, dict) and doc.get("kind") == "TracingModel":
            emit("fuzz_admission", f"model-{os.path.basename(path)[:-5]}-{i}", 1,
                 review(doc, "TracingModel", "tracemodel.dev", "v1alpha1", "shop"))
for path in sorted(glob.glob(f"{wh}/shared/inst-*.yaml")) + sorted(glob.glob(f"{wh}/validate/inst-*.yaml")) \
        + sorted(glob.glob(f"{wh}/instrumentation/*.yaml")):
    doc = yaml.safe_load(open(path))
    if isinstance(doc, dict):
        emit("fuzz_admission", f"inst-{os.path.basename(path)[:-5]}", 2,
             review(doc, "Instrumentation", "tracemodel.dev", "v1alpha1", "shop"))
emit("fuzz_admission", "not-a-review", 0, {"kind": "Nope"})
for i, tok in enumerate(["containers", "a/b", "m~n", "~0~1", "", "tracemodel.dev/inject-java", "0"]):
    with open(f"{out}/fuzz_jsonpatch/token-{i}", "wb") as f:
        f.write(b"\x01" + tok.encode())
PY

du -sh "$out"
