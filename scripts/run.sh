#!/usr/bin/env bash
# run.sh - the main job on a fresh machine: install dependencies, build, and render an
# example TracingModel into the manifests it becomes (no cluster needed).
# Usage: scripts/run.sh [example.yaml] [extra render flags]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOP_UNIT_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target tracing-operator >/dev/null
example="${1:-examples/microservices-tempo-istio.yaml}"
shift || true
exec ./build/tracing-operator render -f "$example" "$@"
