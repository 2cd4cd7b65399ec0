#!/usr/bin/env bash
# Benchmark: the real swarm (master and peers over loopback sockets, WebSocket control, HTTP
# chunks, BLAKE3 checks, files written in place) with the built-in bandwidth limiter standing in
# for the network. Prints completion time / Kumar–Ross bound (crates/swarm/src/bound.rs):
#   max(F/u_s, F/d_min, N·F/(u_s + Σu_i))
# Goal ≤ 1.25. Not a test: nothing here fails on a slow result. Keep the rates well below what
# the machine can hash and copy, or the CPU, not the limiter, sets the pace.
#
#   scripts/bench_swarm_net.sh                         # 400 MB to 8 peers, 25 MB/s up each
#   MB=100 PEERS=4 UP=10MB/s scripts/bench_swarm_net.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${MB:-400}
PEERS=${PEERS:-8}
UP=${UP:-25MB/s}
DOWN=${DOWN:-50MB/s}
CHUNK_MIB=${CHUNK_MIB:-8}

cargo build --release --quiet -p dailies-swarm --example bench_net
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
"$target_dir/release/examples/bench_net" --mb "$MB" --peers "$PEERS" --up "$UP" --down "$DOWN" \
    --chunk-mib "$CHUNK_MIB"
