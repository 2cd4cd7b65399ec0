#!/usr/bin/env bash
# Benchmark: live updates and the job queue. Prints figures measured in one run on this machine.
#
#   scripts/bench_live.sh
#
# 1. Delivery latency of an event to N SSE and N WebSocket subscribers on loopback (median, p99)
#    and the server's memory per subscriber (BENCH_SUBSCRIBERS, default 1000 per protocol).
# 2. Queue throughput with no-op jobs (claim + complete per second) on SQLite, and on PostgreSQL
#    when DAILIES_BENCH_POSTGRES names a database (default: the local test database if it answers).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dailies-target}"
cargo build --release -p dailies --bin dailies --example bench_live --example bench_queue -q
BIN="$CARGO_TARGET_DIR/release/dailies"
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
[ -n "${BENCH_KEEP_WORK:-}" ] && trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID"; echo "kept $WORK"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" > "$WORK/out.txt" 2> "$WORK/log.txt" &
SERVER_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done
TOKEN=$("$BIN" token create admin --data-dir "$WORK/data" --label bench | tail -n1)
mkdir -p "$WORK/data/incoming/admin"
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$WORK/clip.mp4"
mv "$WORK/clip.mp4" "$WORK/data/incoming/admin/clip.mp4"
VIDEO=
for _ in $(seq 300); do
  VIDEO=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/videos" | python3 -c 'import json,sys; i=json.load(sys.stdin)["items"]; print(i[0]["id"] if i and i[0]["status"]=="ready" else "")')
  [ -n "$VIDEO" ] && break; sleep 0.2
done
[ -n "$VIDEO" ] || { echo "bench: the clip never became ready" >&2; exit 1; }
echo "# dailies live-update and queue bench, $(nproc) cores"
BENCH_URL="http://127.0.0.1:$PORT" BENCH_TOKEN="$TOKEN" BENCH_PID="$SERVER_PID" BENCH_VIDEO="$VIDEO" \
  "$CARGO_TARGET_DIR/release/examples/bench_live"
if [ -z "${DAILIES_BENCH_POSTGRES:-}" ] && pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  export DAILIES_BENCH_POSTGRES="postgres://postgres@127.0.0.1:5432/test"
fi
"$CARGO_TARGET_DIR/release/examples/bench_queue"
