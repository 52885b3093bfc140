#!/usr/bin/env bash
# chart_dockerfile.sh - the Dockerfile, checked where no container engine runs
# (scripts/check-dockerfile.sh): COPY sources exist and are in the build context, the build
# stage's own commands build the binary from exactly what it copies, and every library of
# that binary and of BINARY (sanitizer runtimes aside) comes from the runtime stage's
# packages. Also checks that check-dockerfile.sh itself catches broken Dockerfiles.
# Usage: chart_dockerfile.sh BINARY
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-}"
pass=0; failed=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

args=(--build)
[ -n "$BIN" ] && args+=(--binary "$BIN")
if bash "$REPO/scripts/check-dockerfile.sh" "${args[@]}" >"$work/out" 2>&1; then
    ok "Dockerfile: sources, build stage and runtime libraries check out"
else
    bad "Dockerfile check failed"; grep -v ': ok: ' "$work/out" | tail -40 | sed 's/^/    /'
fi

# The checker must reject what would break the image.
mutant() {
    local desc="$1" want="$2" sedexpr="$3" withbin="${4:-}"
    mkdir -p "$work/m"
    sed -e "$sedexpr" "$REPO/Dockerfile" >"$work/m/Dockerfile"
    cp "$REPO/.dockerignore" "$work/m/.dockerignore"
    local extra=()
    [ -n "$withbin" ] && extra=(--binary "$withbin")
    if bash "$REPO/scripts/check-dockerfile.sh" --dockerfile "$work/m/Dockerfile" "${extra[@]}" \
            >"$work/mout" 2>&1; then
        bad "check-dockerfile.sh accepts a Dockerfile with $desc"
    elif grep -q -- "$want" "$work/mout"; then
        ok "check-dockerfile.sh rejects a Dockerfile with $desc"
    else
        bad "check-dockerfile.sh rejects $desc but without '$want'"; sed 's/^/    /' "$work/mout" | tail -5
    fi
}
if [ -n "$BIN" ]; then
    mutant "a runtime library missing" "libwebsockets17" 's/ libwebsockets17//' "$BIN"
fi
mutant "a COPY of a missing file" "does not exist" 's|^COPY cmd/ cmd/|COPY cmd/ cmd/\nCOPY no-such-dir/ no-such-dir/|'
mutant "a -dev package missing in the build stage" "libjansson-dev" 's/ libjansson-dev//'
mutant "no USER" "USER" '/^USER /d'
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
