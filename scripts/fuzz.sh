#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (fuzz/fuzz_*.c; clang, ASan + UBSan) into
# build-fuzz and runs each one for RUNS executions over a copy of its seed corpus
# fuzz/corpus/<target>/ (the repository is never modified), with leak detection.
#
#   bash scripts/fuzz.sh [RUNS] [TARGET...]     RUNS defaults to 100000
#
# Prints `fuzz: <target> <N> runs, <K> crashes` per target and a final
# `fuzz: N passed, M failed`; exits 1 when any target crashed, leaked, timed out,
# hit the RSS limit, or did not build. Crash inputs are kept in
# build-fuzz/fuzz-artifacts/<target>/ (reproduce: build-fuzz/fuzz/<target> <file>).
# Environment:
#   OP_FUZZ_BUILD_DIR   build directory (default build-fuzz)
#   OP_FUZZ_NO_BUILD=1  use the binaries already built (the cmake `fuzz` target)
#   FUZZ_JOBS           targets run at the same time (default: nproc)
#   FUZZ_MAX_TIME       seconds per target before it stops early even short of RUNS
#                       (default 60, so the CI smoke stays within minutes on 2 cores
#                       whatever the targets' speed; 0 = no cap, for long runs)
#   FUZZ_KEEP_CORPUS=1  keep the grown corpora in build-fuzz/fuzz-corpus/<target>/
# Needs clang and libclang-rt-14-dev (Debian 12); installs nothing itself.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-100000}
shift || true
build=${OP_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
max_time=${FUZZ_MAX_TIME:-60}

# -max_len per target: a little above the largest seed, small enough to stay fast.
max_len_for() {
    case $1 in
        fuzz_condition) echo 1024 ;;
        fuzz_watch | fuzz_jsonpatch) echo 4096 ;;
        fuzz_admission) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in fuzz/fuzz_*.c; do
        t=$(basename "$f" .c)
        targets+=("$t")
    done
fi

if ! command -v clang >/dev/null; then
    echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

declare -A build_failed=()
if [ "${OP_FUZZ_NO_BUILD:-0}" != 1 ]; then
    echo "== fuzz: building ${#targets[@]} targets in $build"
    mkdir -p "$build"
    if ! CC=clang cmake -S "$root" -B "$build" -DOP_FUZZ=ON -DOP_SANITIZE=address,undefined \
        -DOP_UNIT_TESTS=OFF -DOP_BENCH=OFF -DOP_WERROR=ON >"$build/configure.log" 2>&1; then
        cat "$build/configure.log" >&2
        echo "fuzz: 0 passed, ${#targets[@]} failed (configure)"
        exit 1
    fi
    # one target at a time, so a module that does not compile fails only its targets
    for t in "${targets[@]}"; do
        if ! cmake --build "$build" -j"$(nproc)" --target "$t" >"$build/$t.build.log" 2>&1; then
            grep -E "error|Error" "$build/$t.build.log" | head -20 >&2
            build_failed[$t]=1
        fi
    done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"

# run_one <target>: writes "<runs> <crashes> <execs_per_sec> <status>" to $work/<target>.res
run_one() {
    local t=$1 bin=$build/fuzz/$1
    local corpus=$work/$t.corpus art=$build/fuzz-artifacts/$t
    mkdir -p "$corpus" "$art"
    if [ -d "fuzz/corpus/$t" ]; then
        cp -r "fuzz/corpus/$t/." "$corpus/"
    fi
    local args=(-runs="$runs" -max_len="$(max_len_for "$t")" -timeout=10 -rss_limit_mb=2048
                -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$art/")
    [ "$max_time" != 0 ] && args+=(-max_total_time="$max_time")
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" "${args[@]}" "$corpus" >"$work/$t.log" 2>&1
    local rc=$?
    local n eps
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log" | tail -1)
    local crashes=0
    [ $rc -ne 0 ] && crashes=1
    echo "${n:-0} $crashes ${eps:-0} $rc" >"$work/$t.res"
    cp "$work/$t.log" "$art/last-run.log"
    if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
        rm -rf "$build/fuzz-corpus/$t"
        mkdir -p "$build/fuzz-corpus"
        cp -r "$corpus" "$build/fuzz-corpus/$t"
    fi
}

echo "== fuzz: $runs runs per target, $jobs at a time"
pending=()
for t in "${targets[@]}"; do
    [ -n "${build_failed[$t]:-}" ] && continue
    if [ ! -x "$build/fuzz/$t" ]; then
        build_failed[$t]=1
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    run_one "$t" &
    pending+=("$t")
done
wait

passed=0
failed=0
for t in "${targets[@]}"; do
    if [ -n "${build_failed[$t]:-}" ]; then
        echo "fuzz: $t not built (see $build/$t.build.log)"
        failed=$((failed + 1))
        continue
    fi
    read -r n crashes eps rc <"$work/$t.res"
    capped=""
    [ "$rc" -eq 0 ] && [ "${n:-0}" -lt "$runs" ] && capped=", stopped by FUZZ_MAX_TIME=${max_time}s"
    echo "fuzz: $t $n runs, $crashes crashes ($eps exec/s$capped)"
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        echo "---- $t (exit $rc); last lines of the log, artifacts in $build/fuzz-artifacts/$t/"
        grep -v '^#[0-9]' "$work/$t.log" | tail -40
        echo "----"
    else
        passed=$((passed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
