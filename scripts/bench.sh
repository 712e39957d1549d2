#!/usr/bin/env bash
# The benchmark command of the README: from a fresh clone, install what is missing, build podtape
# and podtape-sim (Release), then run bench/run_bench.py, which prints podtape's figures beside
# kubectl's and asciinema's measured in the same run (bench/README.md says what each row means).
# Arguments go to run_bench.py (--smoke: tiny sizes; --runs N; --json FILE). Under 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${PODTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target podtape podtape-sim
exec /usr/bin/python3 bench/run_bench.py --build "$build" "$@"
