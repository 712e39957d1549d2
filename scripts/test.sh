#!/usr/bin/env bash
# The whole test suite from a fresh clone: install what is missing, configure, build, run; then
# the same suite again built with AddressSanitizer and UndefinedBehaviorSanitizer (clang, which
# builds Beast units about twice as fast as g++ under sanitizers), with the libFuzzer targets,
# each then run briefly on a copy of its seeds (scripts/fuzz-short.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

build=${PODTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure --timeout 900 -j2

if [ "${PODTAPE_SKIP_SANITIZERS:-0}" != 1 ]; then
  asan=${PODTAPE_ASAN_BUILD_DIR:-build/asan}
  CC=clang CXX=clang++ cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS_DEBUG=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DPODTAPE_SANITIZE=ON \
    -DPODTAPE_FUZZ=ON >/dev/null
  cmake --build "$asan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$asan" --output-on-failure --timeout 900 -j2
  scripts/fuzz-short.sh "$asan"
fi
