#!/usr/bin/env bash
# chart_docs.sh - the chart documents itself: every value in values.yaml has a comment, the
# README's values table is exactly the one made from those comments (so every value is in
# it), and NOTES.txt tells what to do next. Usage: chart_docs.sh [BINARY]
source "$(dirname "$0")/../chart/lib.sh"

if "$PY" "$TESTDIR/values_table.py" "$CHART/values.yaml" >"$WORK/table.md" 2>"$WORK/err"; then
    pass "every value in values.yaml has a comment"
else
    fail "every value in values.yaml has a comment"; sed 's/^/    /' "$WORK/err"
fi
if "$PY" "$TESTDIR/values_table.py" "$CHART/values.yaml" --check "$CHART/README.md" 2>"$WORK/err"; then
    pass "README values table lists every value, with the values.yaml defaults and comments"
else
    fail "README values table matches values.yaml"; sed 's/^/    /' "$WORK/err"
fi
# Independent of the generator: each leaf key path of values.yaml appears in the README table.
if "$PY" - "$CHART/values.yaml" "$CHART/README.md" <<'PY'
import re, sys, yaml
values = yaml.safe_load(open(sys.argv[1]))
readme = open(sys.argv[2]).read()
keys = set(re.findall(r"^\| `([^`]+)` \|", readme, re.M))
missing = []
def walk(v, path):
    if isinstance(v, dict) and v:
        if path in keys:
            return
        for k, sub in v.items():
            walk(sub, path + "." + k if path else k)
    elif path not in keys:
        missing.append(path)
walk(values, "")
if missing:
    sys.exit("not in the README values table: " + ", ".join(missing))
PY
then pass "every key path of values.yaml is in the README values table"
else fail "every key path of values.yaml is in the README values table"; fi

# helm template never renders NOTES.txt: render it inside a ConfigMap in a copy of the chart.
cp -r "$CHART" "$WORK/chart"
{ echo '{{- define "notes-under-test" -}}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end -}}'; } \
    >"$WORK/chart/templates/_notes_under_test.tpl"
cat >"$WORK/chart/templates/notes-under-test.yaml" <<'TPL'
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes-under-test
data:
  notes: {{ include "notes-under-test" . | quote }}
TPL
if "$HELM" template tracing-operator "$WORK/chart" -n "$NS" \
        --show-only templates/notes-under-test.yaml >"$WORK/notes.yaml" 2>"$WORK/notes" \
   && "$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["notes"])' \
        "$WORK/notes.yaml" >"$WORK/notes"; then
    if grep -q "kubectl annotate namespace .* tracemodel.dev/inject-" "$WORK/notes" \
       && grep -q "kubectl apply" "$WORK/notes" && grep -q "rollout status" "$WORK/notes"; then
        pass "NOTES.txt says to check the rollout, annotate a namespace and apply an example"
    else
        fail "NOTES.txt says to check the rollout, annotate a namespace and apply an example"
        sed 's/^/    /' "$WORK/notes" | head -40
    fi
else
    fail "rendering NOTES.txt"; sed 's/^/    /' "$WORK/notes"
fi

missing=""
for f in Chart.yaml values.yaml values.schema.json README.md templates/NOTES.txt .helmignore; do
    [ -f "$CHART/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then pass "chart files present"; else fail "chart files missing:$missing"; fi
finish
