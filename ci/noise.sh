#!/usr/bin/env bash
# The baseline noise experiment: the reference server judged RUNS times against its own
# baseline while a CPU hog keeps every core busy; no run may report `regressed`.
# Usage: ci/noise.sh [RUNS]   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --quiet
kit=target/release/unblocked
dir=$(mktemp -d)
hogs=()
cleanup() { kill "${hogs[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
"$kit" check --only concurrency --write-baseline "$dir/baseline.toml" >/dev/null
for _ in $(seq "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
regressed=0 failed=0
for run in $(seq "$runs"); do
  code=0
  "$kit" check --only concurrency --baseline "$dir/baseline.toml" --format json \
    --output "$dir/run-$run.json" >/dev/null 2>&1 || code=$?
  r=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['regressed'])" "$dir/run-$run.json")
  regressed=$((regressed + r))
  [ "$code" -eq 0 ] || failed=$((failed + 1))
  echo "run $run: exit $code, $r regressed"
done
echo "$runs runs under $(nproc) CPU hogs: $regressed regressed, $failed non-zero exits"
[ "$regressed" -eq 0 ] && [ "$failed" -eq 0 ]
