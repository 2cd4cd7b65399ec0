#!/usr/bin/env bash
# Benchmark: how close does a tus upload over loopback come to a plain `cp` of the same file on
# the same disk, and to another tus server? Prints RATIOS measured side by side in one run, on the
# same machine, back to back. Not a test: nothing here fails on a slow time.
#
#   scripts/bench_upload.sh
#
# 1. upload vs cp:    throughput of a tus upload to `dailies serve` (POST, then PATCHes, until the
#                     last PATCH answers 204 with Dailies-Video-Id: the bytes are written, hashed
#                     with SHA-256 and BLAKE3 and registered as a video) / throughput of
#                     `cp --reflink=never` + `sync` of the same file to the same disk. target ≥ 0.8
# 2. memory:          the server's VmRSS sampled every 100 ms during the upload.   target < 100 MB
# 3. vs @tus/server:  the identical curl upload to @tus/server + @tus/file-store (npm, installed
#                     at run time into the temp dir), storing on the same disk. It neither hashes
#                     nor registers anything, so it is the bare cost of the protocol on Node.
#
# dailies makes received bytes durable (fdatasync every 64 MiB and before it records an offset),
# so the cp baseline is `cp` followed by `sync` of the copy, inside the timing: both sides end
# with the file on disk. @tus/server does not sync. The page cache is not dropped (it cannot be
# here): the file is read from the cache by every side alike. `sync` runs before each timed step,
# outside the timing, so no side pays for the previous one's writeback.
# Each side is measured BENCH_RUNS times, alternating the order, and the best run counts.
# Processing is off (workers = false): the random bytes would be rejected by ffprobe anyway.
#
# Requires: cargo, curl, python3, node, npm. The test file is made once from /dev/urandom and
# cached in $DAILIES_BENCH_CACHE (default ~/.cache/dailies-bench); the work dir (the server's data
# dir, the cp target and the Node server's store) is made beside it, so everything is on one
# file system, and is removed on exit.
#
# Knobs (environment): BENCH_UPLOAD_MB (2048; test file size in MiB), BENCH_RUNS (2; best of N per
# side), BENCH_PIECE_MB (0 = the whole file in one PATCH; else PATCHes of that many MiB, each fed
# to curl through a pipe), BENCH_KEEP_WORK=1 (keep the temp dir and server logs).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE_MB=${BENCH_UPLOAD_MB:-2048}
RUNS=${BENCH_RUNS:-2}
PIECE_MB=${BENCH_PIECE_MB:-0}
CACHE=${DAILIES_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dailies-bench}
TUS_SERVER_VERSION=2.4.5
TUS_FILE_STORE_VERSION=2.1.1

for tool in cargo curl python3 node npm; do
    command -v "$tool" >/dev/null || { echo "bench: '$tool' is required" >&2; exit 1; }
done
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_UPLOAD_MB must be a positive integer" >&2; exit 1; }
[[ $PIECE_MB =~ ^[0-9]+$ ]] || { echo "bench: BENCH_PIECE_MB must be a non-negative integer" >&2; exit 1; }

log() { printf '%s\n' "$*" >&2; }
now() { printf '%s' "$EPOCHREALTIME"; }
calc() { python3 -c "print(format($1, '.3f'))"; }
mbps() { python3 -c "print(format($SIZE / 1e6 / $1, '.0f'))"; } # mbps SECS
loadavg() { cut -d' ' -f1 /proc/loadavg; }
CLK_TCK=$(getconf CLK_TCK)
# CPU time is reported beside wall time: on a shared machine it is much less disturbed by other
# load than wall time.
proc_cpu() { # proc_cpu PID -> utime+stime seconds (all threads) as a python expression
    local stat rest
    stat=$(<"/proc/$1/stat")
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "$((f[11] + f[12]))/$CLK_TCK"
}
# Sets CHILD_CPU to "user+sys" seconds (a python expression) of this shell's finished children.
# Call it directly, never in $(...): a subshell has no children of its own yet.
children_cpu() {
    local f=$WORK/times.$BASHPID line
    times >"$f"
    { read -r _; read -r line; } <"$f"
    [[ $line =~ ^([0-9]+)m([0-9.]+)s\ ([0-9]+)m([0-9.]+)s ]] || { echo "bench: cannot parse times: $line" >&2; exit 1; }
    CHILD_CPU="$((BASH_REMATCH[1] * 60))+${BASH_REMATCH[2]}+$((BASH_REMATCH[3] * 60))+${BASH_REMATCH[4]}"
}

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
cd "$ROOT"
log "== building (release) =="
cargo build --release -p dailies
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/dailies
[[ -x $BIN ]] || { echo "bench: build output missing in $TARGET_DIR" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Test file (made once, cached) and work dir on the same file system
# ---------------------------------------------------------------------------------------------
mkdir -p "$CACHE"
SRC=$CACHE/upload_${SIZE_MB}MiB.bin
SIZE=$((SIZE_MB * 1024 * 1024))
# Work dir first, so a free-space failure below still cleans up.
WORK=$(mktemp -d "$CACHE/work.XXXXXX")
SERVER_PID=
NODE_PID=
SAMPLER_PID=
stop_pid() { # stop_pid PID: TERM, wait up to 5 s, KILL
    local pid=$1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    stop_pid "$SAMPLER_PID"
    stop_pid "$SERVER_PID"
    stop_pid "$NODE_PID"
    if [[ ${BENCH_KEEP_WORK:-0} == 1 ]]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    rm -f "$SRC.tmp.$$"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_mb() { df -Pm "$1" | awk 'NR == 2 {print $4}'; }
if [[ ! -s $SRC || $(stat -c %s "$SRC") != "$SIZE" ]]; then
    (($(free_mb "$CACHE") > 2 * SIZE_MB + 1024)) || { echo "bench: not enough free disk in $CACHE" >&2; exit 1; }
    log "generating $(basename "$SRC") from /dev/urandom (once; cached in $CACHE)"
    head -c "$SIZE" /dev/urandom >"$SRC.tmp.$$"
    mv "$SRC.tmp.$$" "$SRC"
fi
# One copy exists at a time (each run's output is removed before the next), plus headroom.
(($(free_mb "$WORK") > SIZE_MB + 1024)) || { echo "bench: not enough free disk in $WORK" >&2; exit 1; }
[[ $(stat -c %d "$SRC") == $(stat -c %d "$WORK") ]] || { echo "bench: $SRC and $WORK are on different file systems" >&2; exit 1; }
FS_DESC=$(df -PT "$WORK" | awk 'NR == 2 {print $1 " (" $2 ")"}')

PY=$WORK/bench_helper.py
cat >"$PY" <<'PYEOF'
import json, os, signal, sys, time

def sample_rss(pid, out_path):
    """VmRSS of pid every 100 ms until SIGTERM; then writes peak/first/last MB and count as JSON."""
    stop = False
    def on_term(*_):
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)
    samples = []
    while not stop:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        samples.append(int(line.split()[1]))
                        break
            if len(samples) == 1:
                open(out_path + ".ready", "w").close()
        except FileNotFoundError:
            break
        time.sleep(0.1)
    with open(f"/proc/{pid}/status") as f:
        hwm = next((int(l.split()[1]) for l in f if l.startswith("VmHWM:")), 0)
    with open(out_path, "w") as f:
        json.dump({"peak_mb": max(samples, default=0) / 1024, "first_mb": samples[0] / 1024 if samples else 0,
                   "last_mb": samples[-1] / 1024 if samples else 0, "n": len(samples),
                   "hwm_mb": hwm / 1024}, f)

def best(runs_json):
    runs = [json.loads(l) for l in runs_json.splitlines() if l.strip()]
    return min(runs, key=lambda j: j["secs"])

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "sample-rss":
        sample_rss(sys.argv[2], sys.argv[3])
    elif cmd == "best":
        print(json.dumps(best(sys.stdin.read())))
    else:
        sys.exit(f"unknown command {cmd}")
PYEOF
jget() { python3 -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print("" if v is None else v)' "$1" "$2"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------------
# Servers: dailies (release, workers off) and @tus/server on Node, both storing in $WORK
# ---------------------------------------------------------------------------------------------
PORT=$(free_port)
DATA=$WORK/data
mkdir -p "$DATA" "$WORK/cp"
cat >"$WORK/dailies.toml" <<EOF
listen = "127.0.0.1:$PORT"
min_free_disk_bytes = 0
watch_incoming = false
workers = false
EOF
SERVER_OUT=$WORK/server.stdout
SERVER_LOG=$WORK/server.log
NO_COLOR=1 DAILIES_LOG=info "$BIN" --data-dir "$DATA" --config "$WORK/dailies.toml" serve \
    >"$SERVER_OUT" 2>"$SERVER_LOG" &
SERVER_PID=$!
TOKEN=
for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; echo "bench: server exited" >&2; exit 1; }
    if grep -q '^dailies is listening' "$SERVER_OUT"; then
        # The first start prints a login link, not a token: scripts make their own.
        TOKEN=$("$BIN" --data-dir "$DATA" --config "$WORK/dailies.toml" token create admin --label bench | tail -n1 || true)
        break
    fi
    sleep 0.1
done
[[ -n $TOKEN ]] || { echo "bench: cannot make an admin token" >&2; exit 1; }
BASE=http://127.0.0.1:$PORT
curl -fsS "$BASE/api/health" >/dev/null
log "dailies pid $SERVER_PID on $BASE, data in $DATA"

log "== installing @tus/server@$TUS_SERVER_VERSION @tus/file-store@$TUS_FILE_STORE_VERSION (npm, into the temp dir) =="
NODE_DIR=$WORK/tus-node
mkdir -p "$NODE_DIR/store"
(cd "$NODE_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error \
    "@tus/server@$TUS_SERVER_VERSION" "@tus/file-store@$TUS_FILE_STORE_VERSION" >&2)
cat >"$NODE_DIR/server.mjs" <<'JSEOF'
// The smallest @tus/server on a file store: what its README shows.
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const [port, directory] = process.argv.slice(2);
const server = new Server({ path: "/files", datastore: new FileStore({ directory }) });
server.listen({ host: "127.0.0.1", port: Number(port) }, () => console.log("tus-node listening"));
JSEOF
NODE_PORT=$(free_port)
(cd "$NODE_DIR" && exec node server.mjs "$NODE_PORT" "$NODE_DIR/store") >"$WORK/node.stdout" 2>"$WORK/node.log" &
NODE_PID=$!
for _ in $(seq 300); do
    kill -0 "$NODE_PID" 2>/dev/null || { cat "$WORK/node.log" >&2; echo "bench: node server exited" >&2; exit 1; }
    grep -q '^tus-node listening' "$WORK/node.stdout" && break
    sleep 0.1
done
grep -q '^tus-node listening' "$WORK/node.stdout" || { echo "bench: node server did not start" >&2; exit 1; }
NODE_BASE=http://127.0.0.1:$NODE_PORT
log "tus-node pid $NODE_PID on $NODE_BASE, store in $NODE_DIR/store ($(node --version))"

# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------
SIZE_MB_DEC=$(calc "$SIZE / 1e6")
METADATA="filename $(printf '%s' "bench_upload.bin" | base64 -w0)"

# tus_upload CREATE_URL EXTRA_CURL_ARGS... -> writes "T0 T1 VIDEO_ID" (VIDEO_ID "-" if none) to
# $WORK/upload.res. From just before the POST until the last PATCH has answered. Call it
# directly, never in $(...), so curl's CPU time is counted among this shell's children; nothing
# but curl (and dd for pieces) runs between T0 and T1.
tus_upload() {
    local create=$1 hdr=$WORK/headers code loc url t0 t1 off len vid
    shift
    t0=$(now)
    code=$(curl -sS -o /dev/null -D "$hdr" -w '%{http_code}' -X POST "$@" \
        -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $SIZE" -H "Upload-Metadata: $METADATA" "$create")
    [[ $code == 201 ]] || { cat "$hdr" >&2; echo "bench: POST $create answered $code" >&2; exit 1; }
    loc=$(tr -d '\r' <"$hdr" | awk 'tolower($1) == "location:" {print $2}')
    [[ -n $loc ]] || { echo "bench: no Location from $create" >&2; exit 1; }
    case $loc in
    http://* | https://*) url=$loc ;;
    /*) url=$(expr "$create" : '\(https*://[^/]*\)')$loc ;;
    *) echo "bench: unexpected Location '$loc'" >&2; exit 1 ;;
    esac
    if ((PIECE_MB == 0)); then
        code=$(curl -sS -o /dev/null -D "$hdr" -w '%{http_code}' -X PATCH -T "$SRC" "$@" \
            -H 'Expect:' -H 'Tus-Resumable: 1.0.0' -H 'Content-Type: application/offset+octet-stream' \
            -H 'Upload-Offset: 0' "$url")
        [[ $code == 204 ]] || { cat "$hdr" >&2; echo "bench: PATCH $url answered $code" >&2; exit 1; }
    else
        off=0
        while ((off < SIZE)); do
            len=$((PIECE_MB * 1024 * 1024))
            ((off + len <= SIZE)) || len=$((SIZE - off))
            code=$(dd if="$SRC" bs=4M iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none |
                curl -sS -o /dev/null -D "$hdr" -w '%{http_code}' -X PATCH -T - "$@" \
                    -H 'Expect:' -H 'Transfer-Encoding:' -H "Content-Length: $len" \
                    -H 'Tus-Resumable: 1.0.0' -H 'Content-Type: application/offset+octet-stream' \
                    -H "Upload-Offset: $off" "$url")
            [[ $code == 204 ]] || { cat "$hdr" >&2; echo "bench: PATCH $url at $off answered $code" >&2; exit 1; }
            off=$((off + len))
        done
    fi
    t1=$(now)
    off=$(tr -d '\r' <"$hdr" | awk 'tolower($1) == "upload-offset:" {print $2}')
    [[ $off == "$SIZE" ]] || { cat "$hdr" >&2; echo "bench: upload ended at offset '$off', not $SIZE" >&2; exit 1; }
    vid=$(tr -d '\r' <"$hdr" | awk 'tolower($1) == "dailies-video-id:" {print $2}')
    echo "$t0 $t1 ${vid:--}" >"$WORK/upload.res"
}

# rss_start PID / rss_stop -> JSON of the samples
rss_start() {
    rm -f "$WORK/rss.json" "$WORK/rss.json.ready"
    python3 "$PY" sample-rss "$1" "$WORK/rss.json" &
    SAMPLER_PID=$!
    for _ in $(seq 100); do # until its first sample is taken
        [[ -e $WORK/rss.json.ready ]] && return 0
        sleep 0.02
    done
    echo "bench: the VmRSS sampler did not start" >&2
    exit 1
}
rss_stop() {
    stop_pid "$SAMPLER_PID"
    SAMPLER_PID=
    cat "$WORK/rss.json"
}

CP_RUNS=
DAILIES_RUNS=
NODE_RUNS=
run_cp() {
    local t0 t1 secs c0 c1 cpu
    sync
    children_cpu
    c0=$CHILD_CPU
    t0=$(now)
    cp --reflink=never "$SRC" "$WORK/cp/copy.bin"
    sync "$WORK/cp/copy.bin"
    t1=$(now)
    children_cpu
    c1=$CHILD_CPU
    secs=$(calc "$t1 - $t0")
    cpu=$(calc "($c1) - ($c0)")
    [[ $(stat -c %s "$WORK/cp/copy.bin") == "$SIZE" ]] || { echo "bench: cp wrote a wrong size" >&2; exit 1; }
    rm -f "$WORK/cp/copy.bin"
    CP_RUNS+="{\"secs\": $secs, \"cpu\": $cpu}"$'\n'
    log "   run $1 cp:       $secs s = $(mbps "$secs") MB/s; CPU $cpu s (load $(loadavg))"
}
# upload_run NAME PID RUN CREATE_URL CURL_ARGS... -> sets RUN_JSON (secs, server and curl CPU,
# VmRSS) and RUN_VID
upload_run() {
    local name=$1 pid=$2 run=$3 c0 c1 s0 s1 t0 t1 vid rss
    shift 3
    sync
    rss_start "$pid"
    children_cpu
    c0=$CHILD_CPU
    s0=$(proc_cpu "$pid")
    tus_upload "$@"
    s1=$(proc_cpu "$pid")
    children_cpu
    c1=$CHILD_CPU
    rss=$(rss_stop)
    read -r t0 t1 vid <"$WORK/upload.res"
    RUN_VID=$vid
    RUN_JSON=$(python3 -c 'import json, sys; a = sys.argv; print(json.dumps({"secs": float(a[2]) - float(a[1]),
        "cpu_server": eval(a[4]) - eval(a[3]), "cpu_curl": eval(a[6]) - eval(a[5]), "video": a[7], "rss": json.loads(a[8])}))' \
        "$t0" "$t1" "$s0" "$s1" "$c0" "$c1" "$vid" "$rss")
    log "   run $run $name $(python3 -c 'import json, sys; j = json.loads(sys.argv[1]); s = int(sys.argv[2])
print("%.3f s = %.0f MB/s; CPU server %.2f s + curl %.2f s; VmRSS peak %.1f MB (%d samples, before %.1f MB)"
      % (j["secs"], s / 1e6 / j["secs"], j["cpu_server"], j["cpu_curl"], j["rss"]["peak_mb"], j["rss"]["n"], j["rss"]["first_mb"]))' "$RUN_JSON" "$SIZE") (load $(loadavg))"
}
run_dailies() {
    local code
    upload_run "dailies: " "$SERVER_PID" "$1" "$BASE/api/uploads/" -H "Authorization: Bearer $TOKEN"
    [[ $RUN_VID != - ]] || { echo "bench: the last PATCH carried no Dailies-Video-Id" >&2; exit 1; }
    # Delete the video (and its trashed bytes) so the next run is a new video, not a duplicate.
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" "$BASE/api/videos/$RUN_VID")
    [[ $code == 204 ]] || { echo "bench: DELETE /api/videos/$RUN_VID answered $code" >&2; exit 1; }
    [[ $RUN_VID =~ ^[A-Za-z0-9_-]+$ ]] && rm -rf "${DATA:?}/trash/$RUN_VID" "${DATA:?}/media/$RUN_VID"
    DAILIES_RUNS+="$RUN_JSON"$'\n'
}
run_node() {
    upload_run "tus-node:" "$NODE_PID" "$1" "$NODE_BASE/files"
    find "$NODE_DIR/store" -mindepth 1 -delete
    NODE_RUNS+="$RUN_JSON"$'\n'
}

PIECES_DESC="one PATCH of the whole file"
((PIECE_MB == 0)) || PIECES_DESC="PATCHes of $PIECE_MB MiB (piped through dd)"
log ""
log "== $(basename "$SRC") ($SIZE_MB_DEC MB) on $FS_DESC, $PIECES_DESC, best of $RUNS, load avg $(loadavg) =="
# Odd runs: cp, dailies, tus-node; even runs the other way round, so no side always gets the
# cooler (or warmer) machine.
for i in $(seq "$RUNS"); do
    if ((i % 2)); then
        run_cp "$i"; run_dailies "$i"; run_node "$i"
    else
        run_node "$i"; run_dailies "$i"; run_cp "$i"
    fi
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
CP=$(python3 "$PY" best <<<"$CP_RUNS")
DL=$(python3 "$PY" best <<<"$DAILIES_RUNS")
ND=$(python3 "$PY" best <<<"$NODE_RUNS")
echo ""
echo "# dailies upload bench: $SIZE_MB_DEC MB of random bytes, $PIECES_DESC, best of $RUNS per side; $(nproc) cores; $FS_DESC"
python3 - "$SIZE" "$CP" "$DL" "$ND" "$CP_RUNS" "$DAILIES_RUNS" "$NODE_RUNS" <<'PYEOF'
import json, sys
size = int(sys.argv[1])
cp, dl, nd = (json.loads(a) for a in sys.argv[2:5])
all_cp, all_dl, all_nd = ([json.loads(l) for l in a.splitlines() if l.strip()] for a in sys.argv[5:8])
mbs = lambda j: size / 1e6 / j["secs"]
print(f"upload_vs_cp_ratio={mbs(dl) / mbs(cp):.2f} (dailies tus upload {mbs(dl):.0f} MB/s in {dl['secs']:.2f} s / "
      f"cp {mbs(cp):.0f} MB/s in {cp['secs']:.2f} s) target ≥ 0.8")
peak = max(r["rss"]["peak_mb"] for r in all_dl)
hwm = max(r["rss"]["hwm_mb"] for r in all_dl)
print(f"upload_peak_rss_mb={peak:.1f} (VmRSS every 100 ms over all uploads; before upload "
      f"{all_dl[0]['rss']['first_mb']:.1f} MB; VmHWM {hwm:.1f} MB) target < 100")
print(f"dailies_vs_tus_node_ratio={mbs(dl) / mbs(nd):.2f} (dailies {mbs(dl):.0f} MB/s / @tus/server+file-store "
      f"{mbs(nd):.0f} MB/s in {nd['secs']:.2f} s, which does not hash; its VmRSS peak {nd['rss']['peak_mb']:.1f} MB)")
print(f"tus_node_vs_cp_ratio={mbs(nd) / mbs(cp):.2f}")
# CPU seconds, the least of each side's runs: much less disturbed by other load than wall time.
c_cp = min(r["cpu"] for r in all_cp)
c_dl = min(r["cpu_server"] for r in all_dl)
c_nd = min(r["cpu_server"] for r in all_nd)
c_curl = min(r["cpu_curl"] for r in all_dl + all_nd)
print(f"upload_vs_cp_cpu_ratio={c_cp / (c_dl + c_curl):.2f} (CPU s, least per side: cp {c_cp:.2f} / dailies server "
      f"{c_dl:.2f} + curl {c_curl:.2f}; like the throughput ratio, higher is better)")
print(f"dailies_vs_tus_node_cpu_ratio={c_nd / c_dl:.2f} (server CPU s: @tus/server {c_nd:.2f} / dailies {c_dl:.2f}; "
      f"higher is better; dailies also hashes SHA-256 + BLAKE3)")
PYEOF
