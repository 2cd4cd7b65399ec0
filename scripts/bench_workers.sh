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
  # Polled cheaply and seldom: with two workers the poller shares their cores (with one, it
  # had a core to itself), and a python3 start five times a second costs a tenth of a core.
  while true; do
    local ready
    ready=$(curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/videos?limit=200" \
      | grep -o '"status":"ready"' | wc -l)
    [ "$ready" -ge "$CLIPS" ] && break
    sleep 1
  done
  end=$(date +%s.%N)
  # The transcodes alone: from the first job started to the last one finished (the wall time
  # also holds the drop folder's settle wait and registration, the same for both runs).
  local span_ms
  span_ms=$(psql "$url" -qtAc "SELECT (SELECT max(finished_at) FROM jobs WHERE kind = 'process')
    - (SELECT min(at) FROM events WHERE kind = 'job.started')")
  echo "  $workers worker(s): jobs per worker $(psql "$url" -qtAc "SELECT string_agg(n::text, ' ')
    FROM (SELECT count(*) AS n FROM jobs WHERE kind = 'process' GROUP BY split_part(last_owner, '-', 1)) c")" >&2
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  psql "$DAILIES_BENCH_POSTGRES" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  python3 -c "print(f'{$end - $start:.2f} {$span_ms / 1000:.2f}')"
}

read -r ONE ONE_JOBS <<<"$(run 1)"
read -r TWO TWO_JOBS <<<"$(run 2)"
echo "batch of $CLIPS transcodes, drop to ready: 1 worker ${ONE}s, 2 workers ${TWO}s"
echo "first job started to last job done: 1 worker ${ONE_JOBS}s, 2 workers ${TWO_JOBS}s"
python3 -c "print(f'throughput ratio 2 workers / 1 worker: {$ONE_JOBS / $TWO_JOBS:.2f} of the jobs, {$ONE / $TWO:.2f} drop to ready (goal >= 1.8)')"

# What this machine's two cores give at best: the same bare ffmpeg transcode once on one core,
# then twice at once on both (two vCPUs may share a physical core or a memory bus).
bare() { taskset -c "$1" ffmpeg -v error -y -threads 1 -i "$WORK/clip1.mov" -c:v libx264 -preset veryfast "$WORK/bare$1.mp4"; }
t0=$(date +%s.%N); bare 0; t1=$(date +%s.%N)
bare 0 & bare 1; wait; t2=$(date +%s.%N)
python3 -c "one = $t1 - $t0; two = $t2 - $t1; print(f'bare ffmpeg on this machine, 2 cores / 1 core: {2 * one / two:.2f} (one {one:.2f}s, two at once {two:.2f}s)')"
DAILIES_BENCH_POSTGRES="$DAILIES_BENCH_POSTGRES" "$CARGO_TARGET_DIR/release/examples/bench_claim"
