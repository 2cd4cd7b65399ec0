#!/usr/bin/env bash
# Benchmark: the swarm as people run it, one `dailies swarm master` and PEERS `dailies swarm
# peer` processes on loopback, each held to its upload (and download) rate by the built-in
# limiter. Prints the time until the last peer holds the whole folder, the Kumar–Ross bound
#   max(F/u_s, F/d_min, N·F/(u_s + Σu_i))
# and their ratio (goal ≤ 1.25), then checks every copy against the master's folder. Not a test:
# nothing fails on a slow result. Keep the rates below what the machine can hash and write, or
# the CPU, not the limiter, sets the pace.
#
#   scripts/bench_swarm_procs.sh                      # 2000 MB to 8 peers, 25 MB/s up each
#   MB=400 PEERS=4 scripts/bench_swarm_procs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh python3

MB=${MB:-2000}
PEERS=${PEERS:-8}
UP_MBS=${UP_MBS:-25}      # every node's upload, MB/s
DOWN_MBS=${DOWN_MBS:-50}  # every peer's download, MB/s
CHUNK=${CHUNK:-8MiB}
TOKEN=bench-swarm-token-0123456789

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dailies-target}"
cargo build --release --quiet -p dailies --bin dailies
BIN="$CARGO_TARGET_DIR/release/dailies"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "# $MB MB in 4 files to $PEERS peers; every node ${UP_MBS} MB/s up, peers ${DOWN_MBS} MB/s down"
mkdir -p "$WORK/master"
for i in 1 2 3 4; do
  head -c $((MB * 1000000 / 4)) /dev/urandom > "$WORK/master/clip$i.bin"
done
MPORT=$(port)
"$BIN" swarm master --dir "$WORK/master" --listen "127.0.0.1:$MPORT" --token "$TOKEN" \
  --up-limit "${UP_MBS}MB/s" --chunk-size "$CHUNK" 2> "$WORK/master.log" &
PIDS+=($!)
# The master hashes its folder before it answers.
for _ in $(seq 600); do
  curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$MPORT/status" 2>/dev/null \
    | grep -q '"files":4' && break
  sleep 0.5
done

start=$(date +%s.%N)
PEER_PIDS=()
for n in $(seq "$PEERS"); do
  "$BIN" swarm peer --master "http://127.0.0.1:$MPORT" --dir "$WORK/peer$n" --token "$TOKEN" \
    --listen "127.0.0.1:$(port)" --up-limit "${UP_MBS}MB/s" --down-limit "${DOWN_MBS}MB/s" \
    --exit-when-synced 2> "$WORK/peer$n.log" &
  PEER_PIDS+=($!)
done
for p in "${PEER_PIDS[@]}"; do wait "$p"; done
end=$(date +%s.%N)

for n in $(seq "$PEERS"); do
  diff -rq "$WORK/master" "$WORK/peer$n" > /dev/null || { echo "peer $n differs from the master" >&2; exit 1; }
done
python3 - "$start" "$end" "$MB" "$PEERS" "$UP_MBS" "$DOWN_MBS" <<'EOF'
import sys
start, end, mb, n, up, down = map(float, sys.argv[1:])
f = mb * 1e6
us = up * 1e6
bound = max(f / us, f / (down * 1e6), n * f / (us + n * us))
took = end - start
print(f"swarm_procs: {took:.1f} s for {int(n)} peers, bound {bound:.1f} s, ratio={took / bound:.2f} (goal <= 1.25); every copy identical")
EOF
