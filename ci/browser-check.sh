#!/usr/bin/env bash
# Renders an HTML report with headless Chromium to a PNG, for a person to look at (not part
# of the default CI). Usage: ci/browser-check.sh [OUT.png]   (installs chromium with apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-report.png}
case $out in /*) ;; *) out=$PWD/$out ;; esac
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# A report with something to see: a server that serializes requests draws a staircase.
target/release/unblocked check --format html --output "$dir/report.html" --seed 1 \
  --server 'target/release/broken-server --bind 127.0.0.1:{port} --flaw sequential' \
  --only pages,fixtures.get-root,concurrency --slow 8 || true
chromium --headless --no-sandbox --disable-gpu --window-size=1200,2400 \
  --screenshot="$out" "file://$dir/report.html" 2>/dev/null
echo "wrote $out"
