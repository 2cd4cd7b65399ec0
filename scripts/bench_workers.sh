#!/usr/bin/env bash
# Benchmark: a batch of transcodes on one worker node, then on two, each worker pinned to its own
# core (taskset), behind an API-only node. Prints the wall times and their ratio (goal >= 1.8),
# then the claim latency with 10 idle workers competing (examples/bench_claim.rs).
#
#   scripts/bench_workers.sh            # PostgreSQL: DAILIES_BENCH_POSTGRES, or the local test database
#
# BENCH_CLIPS (default 6) clips of BENCH_SECONDS (default 8) seconds, 1280x720 with grain, which
# every worker must transcode.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dailies-target}"
cargo build --release -p dailies --bin dailies --example bench_claim -q
BIN="$CARGO_TARGET_DIR/release/dailies"
CLIPS="${BENCH_CLIPS:-6}"
SECONDS_EACH="${BENCH_SECONDS:-8}"
if [ -z "${DAILIES_BENCH_POSTGRES:-}" ]; then
  DAILIES_BENCH_POSTGRES="postgres://postgres@127.0.0.1:5432/test"
fi
[ "$(nproc)" -ge 2 ] || { echo "bench_workers: needs at least 2 cores" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "# making $CLIPS clips of ${SECONDS_EACH}s"
for n in $(seq "$CLIPS"); do
  ffmpeg -v error -f lavfi -i "testsrc2=size=1280x720:rate=25,noise=alls=40:allf=t:all_seed=$n" \
    -t "$SECONDS_EACH" -c:v mpeg4 -q:v 4 "$WORK/clip$n.mov"
done

# One run: a fresh database and data dir, an API-only node, $1 workers pinned to cores 0..$1-1.
run() {
  local workers=$1 db="dailies_bench_$$_$1" port
  psql "$DAILIES_BENCH_POSTGRES" -qc "DROP DATABASE IF EXISTS $db" -qc "CREATE DATABASE $db" >/dev/null
  local url="${DAILIES_BENCH_POSTGRES%/*}/$db"
  local data="$WORK/data$workers"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export DAILIES_DATA_DIR="$data" DAILIES_DATABASE="$url" DAILIES_PROCESS_CONCURRENCY=1 DAILIES_TORRENTS=false
  "$BIN" serve --workers 0 --listen "127.0.0.1:$port" > "$WORK/serve$workers.out" 2> "$WORK/serve$workers.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
  local token
  token=$("$BIN" token create admin | tail -1)
  for w in $(seq 0 $((workers - 1))); do
    taskset -c "$w" "$BIN" worker 2> "$WORK/worker$workers-$w.log" &
    PIDS+=($!)
  done
  sleep 1
  mkdir -p "$data/incoming/admin"
  local start end
  start=$(date +%s.%N)
  for n in $(seq "$CLIPS"); do cp "$WORK/clip$n.mov" "$data/incoming/admin/"; done
  while true; do
    local ready
    ready=$(curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/videos?limit=200" \
      | python3 -c 'import json,sys; print(sum(v["status"]=="ready" for v in json.load(sys.stdin)["items"]))')
    [ "$ready" -ge "$CLIPS" ] && break
    sleep 0.2
  done
  end=$(date +%s.%N)
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  psql "$DAILIES_BENCH_POSTGRES" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  python3 -c "print(f'{$end - $start:.2f}')"
}

ONE=$(run 1)
TWO=$(run 2)
echo "batch of $CLIPS transcodes: 1 worker ${ONE}s, 2 workers ${TWO}s"
python3 -c "print(f'throughput ratio 2 workers / 1 worker: {$ONE / $TWO:.2f} (goal >= 1.8)')"
DAILIES_BENCH_POSTGRES="$DAILIES_BENCH_POSTGRES" "$CARGO_TARGET_DIR/release/examples/bench_claim"
