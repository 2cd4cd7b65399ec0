#!/usr/bin/env bash
# Benchmark: torrent creation for a 2 GB file against `sha1sum` of the same file, side by side in
# one run. Prints RATIOS (target: creation / sha1sum ≤ 1.2, one read pass). Not a test.
#
#   scripts/bench_torrent.sh
#
# The file (pseudo-random, so nothing compresses or dedups) is made once and cached in
# $DAILIES_BENCH_CACHE (default ~/.cache/dailies-bench). Every side reads it once before timing,
# so all of them read from the page cache and the ratio compares hashing pipelines, not the disk.
# Knobs: BENCH_RUNS (3; best of N per side, sides interleaved), BENCH_TORRENT_MB (2048).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-3}
SIZE_MB=${BENCH_TORRENT_MB:-2048}
CACHE=${DAILIES_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dailies-bench}
for tool in cargo sha1sum sha256sum python3 openssl; do
    command -v "$tool" >/dev/null || { echo "bench_torrent: '$tool' is required" >&2; exit 1; }
done
log() { printf '%s\n' "$*" >&2; }

cd "$ROOT"
log "== building (release) =="
cargo build --release -p dailies-torrent --example make_torrent
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/examples/make_torrent

mkdir -p "$CACHE"
FILE=$CACHE/torrent_${SIZE_MB}MB.bin
if [[ ! -s $FILE ]]; then
    log "generating $(basename "$FILE") (once; cached in $CACHE)"
    # AES-CTR keystream: pseudo-random bytes at GB/s, unlike /dev/urandom.
    # (openssl ends on SIGPIPE when head has enough: expected, so pipefail is off here.)
    set +o pipefail
    openssl enc -aes-128-ctr -nosalt -pass pass:dailies -in /dev/zero 2>/dev/null |
        head -c $((SIZE_MB * 1024 * 1024)) >"$FILE.tmp"
    set -o pipefail
    [[ $(stat -c %s "$FILE.tmp") -eq $((SIZE_MB * 1024 * 1024)) ]] ||
        { echo "bench_torrent: could not generate $FILE" >&2; exit 1; }
    mv "$FILE.tmp" "$FILE"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat "$FILE" >/dev/null # into the page cache for every side alike

# time_cmd CMD... -> wall seconds
time_cmd() {
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >/dev/null
    t1=$EPOCHREALTIME
    python3 -c "print(f'{$t1 - $t0:.3f}')"
}
best() { printf '%s\n' "$@" | sort -g | head -n1; }

S1=() S256=() V1=() HY=()
log "== $SIZE_MB MB, best of $RUNS, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) =="
for i in $(seq "$RUNS"); do
    S1+=("$(time_cmd sha1sum "$FILE")")
    HY+=("$(time_cmd "$BIN" "$FILE" "$WORK/h.torrent" hybrid)")
    V1+=("$(time_cmd "$BIN" "$FILE" "$WORK/v1.torrent" v1)")
    S256+=("$(time_cmd sha256sum "$FILE")")
    log "   run $i: sha1sum ${S1[-1]} s | hybrid ${HY[-1]} s | v1 ${V1[-1]} s | sha256sum ${S256[-1]} s (load $(cut -d' ' -f1 /proc/loadavg))"
done
s1=$(best "${S1[@]}")
s256=$(best "${S256[@]}")
hy=$(best "${HY[@]}")
v1=$(best "${V1[@]}")
echo ""
echo "# dailies torrent bench: $SIZE_MB MB from the page cache, best of $RUNS; $(nproc) cores"
python3 - "$s1" "$s256" "$hy" "$v1" "$SIZE_MB" <<'PYEOF'
import sys
s1, s256, hy, v1, mb = (float(x) for x in sys.argv[1:])
print(f"hybrid_over_sha1sum={hy / s1:.2f} (hybrid v1+v2 torrent {hy:.2f} s / sha1sum {s1:.2f} s) target ≤ 1.2")
print(f"v1_over_sha1sum={v1 / s1:.2f} (v1 torrent {v1:.2f} s / sha1sum {s1:.2f} s) target ≤ 1.2")
print(f"hybrid_over_sha256sum={hy / s256:.2f} (sha256sum {s256:.2f} s; for reference)")
print(f"throughput: hybrid {mb / hy:.0f} MB/s, v1 {mb / v1:.0f} MB/s, sha1sum {mb / s1:.0f} MB/s")
PYEOF
