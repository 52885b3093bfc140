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

# DSL, admission webhook, JSON Patch: their fixtures when they exist.
copy fuzz_dsl "$root"/examples/**/*.tdsl "$fx"/dsl/**/*.tdsl "$fx"/dsl/**/*.dsl
copy fuzz_admission "$fx"/webhook/admission/**/*.json "$fx"/webhook/mutate/*.yaml \
    "$fx"/webhook/mutate/*.json
copy fuzz_jsonpatch "$fx"/webhook/mutate/*.yaml "$fx"/webhook/jsonpatch/**/*.json
for t in fuzz_dsl fuzz_admission fuzz_jsonpatch; do
    rmdir "$out/$t" 2>/dev/null || true
done
du -sh "$out"
