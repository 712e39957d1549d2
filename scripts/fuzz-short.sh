#!/usr/bin/env bash
# The short fuzz run CI does: every libFuzzer target in BUILD/fuzz/ on a private copy of its seeds
# (tests/fuzz/corpus/<target>), two at a time, each for a fixed number of inputs from a fixed
# random seed (about 10 s each here), so that every CI run tries the same inputs: a run is
# reproducible, and a red CI means a regression, not a new draw. Exploring is for the long runs
# (fuzz/README.md). SECONDS (default 60) caps each target on a slow machine. Fails when a target
# finds a crash or a broken property; the input is kept in the printed folder (fuzz/README.md
# says what to do with it). The seed folders in the checkout are never written.
# Usage: scripts/fuzz-short.sh BUILD [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/fuzz-short.sh BUILD [SECONDS]}
seconds=${2:-60}

# Inputs per target: about half of what each ran in 20 s in the ASan build on the 2-core machine.
declare -A runs=(
  [asciicast_import]=20000 [channel_codec]=1500000 [command_extractor]=40000
  [kubeconfig]=40000 [resize_stream]=600000 [status_parser]=2000000 [utf8_decoder]=150000
  [stored_rows]=20000
)

targets=()
for f in fuzz/*_fuzz.cc; do
  name=$(basename "$f" .cc)
  [ -x "$build/fuzz/$name" ] || { echo "fuzz-short: $build/fuzz/$name is not built" >&2; exit 1; }
  targets+=("$name")
done

work=$(mktemp -d /tmp/podtape-fuzz.XXXXXX)
run_one() {
  local name=$1 target=${1%_fuzz}
  local dir="$work/$target"
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp tests/fuzz/corpus/"$target"/* "$dir/corpus/"
  local t0=$SECONDS
  if "$build/fuzz/$name" -seed=1 -runs="${runs[$target]:-100000}" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$dir/crashes/" -print_final_stats=1 \
      "$dir/corpus" >"$dir/log" 2>&1; then
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1)
    echo "fuzz-short: $target ok, ${execs:-?} executions in $((SECONDS - t0)) s, ${cov:-cov: ?}"
  else
    echo "fuzz-short: $target FAILED; input and log in $dir" >&2
    tail -20 "$dir/log" >&2
    return 1
  fi
}

status=0
pids=()
for name in "${targets[@]}"; do
  run_one "$name" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ $status -eq 0 ]; then rm -rf "$work"; fi
exit $status
