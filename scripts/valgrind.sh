#!/usr/bin/env bash
# valgrind.sh - builds the unit tests without sanitizers (Debug, build-valgrind) and
# runs every test binary under valgrind memcheck: any invalid read/write, use of
# uninitialised memory, or definitely/indirectly lost block fails the binary.
# "Still reachable" memory (libwebsockets, OpenSSL, libcurl globals) is allowed.
#
#   bash scripts/valgrind.sh [TEST_NAME_REGEX]      e.g. 'test_model_|test_base_'
#
# Prints `valgrind: <test> ok|FAILED (<secs>s)` per binary and a final
# `valgrind: N passed, M failed`; exits 1 when any binary failed or did not build.
# The shell tests (tests/cli/*.sh) are not run. Logs: build-valgrind/valgrind-logs/.
# Environment: OP_VALGRIND_BUILD_DIR (default build-valgrind), VALGRIND_JOBS
# (binaries at the same time, default nproc), VALGRIND_TIMEOUT (seconds per
# binary, default 900). Tests see OP_UNDER_VALGRIND=1 (valgrind is 20-50x slower:
# a test with tight I/O timeouts may scale them by it), and OP_JARENA=off so that
# memcheck sees every jansson allocation of the admission path one by one (the
# arena itself is checked by test_base_jarena here and under ASan everywhere).
# Needs valgrind (Debian package valgrind); installs nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
filter=${1:-.}
build=${OP_VALGRIND_BUILD_DIR:-$root/build-valgrind}
jobs=${VALGRIND_JOBS:-$(nproc)}
tmo=${VALGRIND_TIMEOUT:-900}

if ! command -v valgrind >/dev/null; then
    echo "valgrind: valgrind not found (apt-get install valgrind)" >&2
    exit 2
fi

tests=()
for f in tests/unit/test_*.c; do
    t=$(basename "$f" .c)
    [[ $t =~ $filter ]] && tests+=("$t")
done

echo "== valgrind: building ${#tests[@]} test binaries in $build (Debug, no sanitizers)"
mkdir -p "$build"
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DOP_SANITIZE= -DOP_BENCH=OFF \
    -DOP_FUZZ=OFF -DOP_UNIT_TESTS=ON >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    echo "valgrind: 0 passed, ${#tests[@]} failed (configure)"
    exit 1
fi
# The tracing-operator binary too: some tests run it (OP_BIN). Keep going past a
# module that does not compile: only its tests fail.
cmake --build "$build" -j"$(nproc)" -- -k "${tests[@]}" tracing-operator \
    >"$build/build.log" 2>&1 || grep -E "error" "$build/build.log" | head -20 >&2

logs=$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-origins=no --num-callers=30 -q)

# run_one <test>: "<rc> <secs>" into $logs/<test>.res
run_one() {
    local t=$1 start rc
    start=$(date +%s)
    local arena=off
    [ "$t" = test_base_jarena ] && arena=on
    OP_SOURCE_DIR=$root OP_BIN=$build/tracing-operator OP_UNDER_VALGRIND=1 OP_JARENA=$arena \
        timeout "$tmo" "${vg[@]}" --log-file="$logs/$t.valgrind" "$build/$t" \
        >"$logs/$t.out" 2>&1
    rc=$?
    echo "$rc $(($(date +%s) - start))" >"$logs/$t.res"
}

for t in "${tests[@]}"; do
    [ -x "$build/$t" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    run_one "$t" &
done
wait

passed=0
failed=0
for t in "${tests[@]}"; do
    if [ ! -x "$build/$t" ]; then
        echo "valgrind: $t FAILED (did not build; see $build/build.log)"
        failed=$((failed + 1))
        continue
    fi
    read -r rc secs <"$logs/$t.res"
    if [ "$rc" -eq 0 ]; then
        echo "valgrind: $t ok (${secs}s)"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    # a failing cmocka assertion leaves the test's own memory behind: say so
    testfail=0
    grep -q '^\[  FAILED  \]' "$logs/$t.out" && testfail=1
    case $rc in
        99) why="memory errors or leaks"
            [ $testfail = 1 ] && why="a test failed (its leaks may only be the failure path's)" ;;
        124) why="timed out after ${tmo}s" ;;
        *) why="test failed (exit $rc)" ;;
    esac
    echo "valgrind: $t FAILED: $why (${secs}s)"
    echo "---- $logs/$t.valgrind"
    head -60 "$logs/$t.valgrind"
    if [ "$rc" -ne 99 ] || [ $testfail = 1 ]; then
        echo "---- $logs/$t.out (tail)"
        tail -20 "$logs/$t.out"
    fi
    echo "----"
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
