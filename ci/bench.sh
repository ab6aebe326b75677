#!/usr/bin/env bash
# Full default check, wall time, in lanes and --sequential, for the speed table of docs/performance.md.
# Usage: ci/bench.sh   (builds the release binaries; peers need ci/install-peers.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
kit=target/release/unblocked
time_of() { # prints the wall time of one run, in seconds
  local start end
  start=$(date +%s.%N)
  "$kit" check --seed 1 "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
row() {
  local name=$1; shift
  printf '| %s | %.1f s | %.1f s |\n' "$name" "$(time_of "$@")" "$(time_of "$@" --sequential)"
}
echo '| server | in lanes | `--sequential` |'
echo '| --- | --- | --- |'
row 'bundled reference (S = 1 s)'
command -v node >/dev/null && row 'node-http (keep-alive)' --server 'node peers/node-http/server.js {port}'
[ -x peers/go-net-http/server ] && row 'go-net-http (keep-alive)' --server 'peers/go-net-http/server {port}'
row 'broken-server --flaw book-pool' --server 'target/release/broken-server --bind 127.0.0.1:{port} --flaw book-pool'
