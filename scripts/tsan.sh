#!/usr/bin/env bash
# tsan.sh - builds the concurrency tests with ThreadSanitizer (build-tsan) and runs
# them: the work queue, the object store and informer (with the leader-election
# thread), the kube client's shared metrics, the watch loop, and the webhook
# servers. Any data race, lock-order inversion or thread leak fails the test.
#
#   bash scripts/tsan.sh [TEST_NAME_REGEX]
#
# The default regex selects the tests that start threads; pass '.' for all.
# Prints `tsan: <test> ok|FAILED` per binary and `tsan: N passed, M failed`;
# exits 1 on any failure. Environment: OP_TSAN_BUILD_DIR (default build-tsan),
# CC (default clang when installed, else gcc). Installs nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
default='^test_(controller_(workqueue|store|informer|leader|reconcile)|kube_(client|watch)|webhook_server.*)$'
filter=${1:-$default}
build=${OP_TSAN_BUILD_DIR:-$root/build-tsan}
if [ -z "${CC:-}" ]; then
    if command -v clang >/dev/null; then CC=clang; else CC=gcc; fi
fi

tests=()
for f in tests/unit/test_*.c; do
    t=$(basename "$f" .c)
    [[ $t =~ $filter ]] && tests+=("$t")
done
if [ ${#tests[@]} -eq 0 ]; then
    echo "tsan: no test matches '$filter'"
    exit 1
fi

echo "== tsan: building ${#tests[@]} tests with $CC -fsanitize=thread in $build"
mkdir -p "$build"
if ! CC=$CC cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOP_SANITIZE=thread -DOP_BENCH=OFF -DOP_FUZZ=OFF -DOP_UNIT_TESTS=ON \
    >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    echo "tsan: 0 passed, ${#tests[@]} failed (configure)"
    exit 1
fi
cmake --build "$build" -j"$(nproc)" -- -k "${tests[@]}" tracing-operator \
    >"$build/build.log" 2>&1 || grep -E "error" "$build/build.log" | head -20 >&2

logs=$build/tsan-logs
rm -rf "$logs"
mkdir -p "$logs"
passed=0
failed=0
for t in "${tests[@]}"; do
    if [ ! -x "$build/$t" ]; then
        echo "tsan: $t FAILED (did not build; see $build/build.log)"
        failed=$((failed + 1))
        continue
    fi
    start=$(date +%s)
    # second_deadlock_stack: both stacks of a lock-order inversion
    OP_SOURCE_DIR=$root OP_BIN=$build/tracing-operator \
        TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:report_thread_leaks=1" \
        timeout 600 "$build/$t" >"$logs/$t.log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    races=$(grep -c "^WARNING: ThreadSanitizer" "$logs/$t.log")
    if [ "$rc" -eq 0 ] && [ "$races" -eq 0 ]; then
        echo "tsan: $t ok (${secs}s)"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    echo "tsan: $t FAILED: $races reports, exit $rc (${secs}s); log $logs/$t.log"
    grep -A40 "^WARNING: ThreadSanitizer" "$logs/$t.log" | head -120
    [ "$races" -eq 0 ] && tail -20 "$logs/$t.log"
done
echo "tsan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
