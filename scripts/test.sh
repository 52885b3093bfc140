#!/usr/bin/env bash
# test.sh - every test on a fresh machine: install dependencies, build with -Werror and
# with AddressSanitizer + UndefinedBehaviorSanitizer, run the whole ctest suite under
# the sanitizers, a libFuzzer smoke, ThreadSanitizer, every unit test binary under
# valgrind memcheck, then the e2e suite (which says loudly when it has no API server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
jobs="$(nproc)"

echo "== build (-Werror, release flags)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOP_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

echo "== build (ASan + UBSan, -Werror)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOP_WERROR=ON -DOP_SANITIZE=address,undefined -DOP_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

echo "== helm (for the chart tests)"
bash scripts/install-helm.sh

echo "== unit and CLI tests under ASan + UBSan"
(cd build-asan && ctest --output-on-failure -j"$jobs")

echo "== fuzz smoke (libFuzzer, ASan+UBSan; 100,000 runs or 60 s per target)"
bash scripts/fuzz.sh 100000

echo "== ThreadSanitizer (work queue, informers, stores, leader election, servers)"
bash scripts/tsan.sh

echo "== valgrind memcheck (every unit test binary; invalid accesses or leaks fail)"
bash scripts/valgrind.sh

echo "== e2e"
# A kube-apiserver built outside the repository (see e2e/README.md) is used when present;
# without KUBECONFIG or one, e2e prints "e2e: skipped (no API server)".
if [ -z "${KUBECONFIG:-}" ] && [ -z "${KUBE_APISERVER:-}" ] && [ -x /opt/kube/bin/kube-apiserver ]; then
  export KUBE_APISERVER=/opt/kube/bin/kube-apiserver
  [ -x /opt/kube/bin/kube-controller-manager ] && export KUBE_CONTROLLER_MANAGER=/opt/kube/bin/kube-controller-manager
fi
OP_BIN="$PWD/build/tracing-operator" bash e2e/run.sh
