#!/usr/bin/env bash
# The whole test suite from a fresh clone: install what is missing, configure, build, run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${PODTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure --timeout 900 -j2
