#!/usr/bin/env bash
# The performance benchmark of issue 6: the reference server (hello-server, async-std) side
# by side with a tokio peer written the same way (bench/src/bin/tokio-hello.rs) and nginx
# serving the hello page with keep-alive off. Prints the machine, then one markdown table.
#
#   ci/bench.sh                 # about 5 minutes after the builds
#   ci/bench.sh --server-threads 0 --scale 0   # each server's default thread count,
#                                              # throughput only (about 3 minutes)
#   ci/bench.sh --rounds 5      # more options: bench/target/release/unblocked-bench help
#
# Installs wrk and nginx with apt-get when they are missing (as root); without them the
# wrk rows or the nginx column are left out, and the script says so. Run it on an otherwise
# idle machine: the client and the servers share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== machine"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kernel: $(uname -sr)"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn); somaxconn: $(cat /proc/sys/net/core/somaxconn)"

find_nginx() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
wrk_bin=$(command -v wrk || true)
nginx_bin=$(find_nginx)
missing=()
[ -n "$wrk_bin" ] || missing+=(wrk)
[ -n "$nginx_bin" ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing ${missing[*]} (apt-get)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
            echo "bench: apt-get could not install ${missing[*]}"
        fi
        wrk_bin=$(command -v wrk || true)
        nginx_bin=$(find_nginx)
    else
        echo "bench: ${missing[*]} missing and cannot be installed here (needs root and apt-get)"
    fi
fi
[ -n "$wrk_bin" ] || echo "bench: SKIPPED the wrk rows: wrk is not installed"
[ -n "$nginx_bin" ] || echo "bench: SKIPPED the nginx column: nginx is not installed"
[ -z "$wrk_bin" ] || echo "wrk: $("$wrk_bin" -v 2>&1 | head -1)"
[ -z "$nginx_bin" ] || echo "nginx: $("$nginx_bin" -v 2>&1 | head -1)"

echo "== building (release)"
cargo build --release --locked --bin hello-server
cargo build --release --locked --manifest-path bench/Cargo.toml

echo "== measuring"
args=(run --hello target/release/hello-server --tokio bench/target/release/tokio-hello)
[ -z "$wrk_bin" ] || args+=(--wrk "$wrk_bin")
[ -z "$nginx_bin" ] || args+=(--nginx "$nginx_bin")
# Bounded: the default run takes about 5 minutes; stop it after 20 whatever the options.
timeout --kill-after=10 1200 bench/target/release/unblocked-bench "${args[@]}" "$@"
