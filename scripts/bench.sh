#!/usr/bin/env bash
# Benchmark: how much slower is "drop a file, wait until it is ready" than the bare ffmpeg work
# it needs? Prints RATIOS measured side by side in one run, on the same machine, back to back.
# Not a test: nothing here fails on a slow time.
#
#   scripts/bench.sh
#
# 1. keep path:      an already playable 1080p25 H.264/AAC faststart MP4 (60 s).
#                    drop→ready  /  (cp + bare poster ffmpeg + bare sprite ffmpeg)   target ≤ 1.2
# 2. transcode path: 1080p25 MPEG-4 Part 2 + PCM in .mov (60 s).
#                    drop→ready  /  bare transcode with the pipeline's exact args    target ≤ 1.15
# 3. idle server:    CPU % over BENCH_IDLE_SECS once all work is done, and VmRSS.    ~0 %, < 50 MB
#
# drop→ready runs from just before `cp` into data/incoming/ until the video is ready: GET
# /api/videos is polled every 250 ms until it says "ready", and the end time is the video's
# ready_at (ms, same clock) so the poll interval adds no error (the poll lag is printed). It includes the drop-folder settle wait (settle_secs = 0.2 plus the
# watcher's debounce, scan interval, hashing and the move), which is also reported on its own,
# with the ratio excluding it. The server log gives the per-phase breakdown.
#
# Requires: cargo, ffmpeg, ffprobe, curl, python3. Generated clips are cached in
# $DAILIES_BENCH_CACHE (default ~/.cache/dailies-bench); everything else lives in a temp dir
# that is removed on exit.
#
# Knobs (environment): BENCH_RUNS (2; best of N per side), BENCH_DURATION (60 s per clip),
# BENCH_IDLE_SECS (10), BENCH_KEEP_WORK=1 (keep the temp dir and server log for inspection).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-2}
DURATION=${BENCH_DURATION:-60}
IDLE_SECS=${BENCH_IDLE_SECS:-10}
CACHE=${DAILIES_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dailies-bench}
SETTLE_SECS=0.2
RESCAN_SECS=0.5

for tool in cargo ffmpeg ffprobe curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: '$tool' is required" >&2; exit 1; }
done

log() { printf '%s\n' "$*" >&2; }
now() { printf '%s' "$EPOCHREALTIME"; }
# Float arithmetic via python: calc 'expr'.
calc() { python3 -c "print(format($1, '.3f'))"; }

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
cd "$ROOT"
log "== building (release) =="
cargo build --release -p dailies
cargo build --release -p dailies --example bare_transcode
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/dailies
HELPER=$TARGET_DIR/release/examples/bare_transcode
[[ -x $BIN && -x $HELPER ]] || { echo "bench: build outputs missing in $TARGET_DIR" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Media (generated once, cached)
# ---------------------------------------------------------------------------------------------
mkdir -p "$CACHE"
KEEP_SRC=$CACHE/keep_1080p25_${DURATION}s.mp4
TRANS_SRC=$CACHE/transcode_1080p25_mpeg4_pcm_${DURATION}s.mov

generate() { # generate OUT ffmpeg-output-args...
    local out=$1
    shift
    [[ -s $out ]] && return 0
    log "generating $(basename "$out") (once; cached in $CACHE)"
    local tmp
    tmp="$out.tmp.$$.${out##*.}"
    ffmpeg -nostdin -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1920x1080:rate=25" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -t "$DURATION" -map 0:v -map 1:a "$@" "$tmp"
    mv "$tmp" "$out"
}
generate "$KEEP_SRC" -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -c:a aac -b:a 128k -ac 2 -movflags +faststart -f mp4
generate "$TRANS_SRC" -c:v mpeg4 -q:v 3 -pix_fmt yuv420p -c:a pcm_s16le -ac 2 -f mov

# ---------------------------------------------------------------------------------------------
# Work dir, helper script, cleanup
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dailies-bench.XXXXXX")
SERVER_PID=
cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ ${BENCH_KEEP_WORK:-0} == 1 ]]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PY=$WORK/bench_helper.py
cat >"$PY" <<'PYEOF'
import json, re, sys, time, urllib.request
from datetime import datetime

POLL_S = 0.25

def wait_ready(base, token, name, timeout_s):
    """Poll the list until the video with this original file name is ready; print JSON."""
    req_url = f"{base}/api/videos?limit=200"
    deadline = time.time() + timeout_s
    polls = 0
    while time.time() < deadline:
        req = urllib.request.Request(req_url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            items = json.load(r)["items"]
        polls += 1
        t = time.time()
        for v in items:
            if v["original_filename"] != name:
                continue
            if v["status"] == "ready":
                print(json.dumps({"observed": t, "polls": polls, "id": v["id"],
                                  "created_at": v["created_at"] / 1000.0,
                                  "ready_at": (v["ready_at"] or 0) / 1000.0,
                                  "processing": v["processing"]}))
                return 0
            if v["status"] == "failed":
                print(f"video {name} failed: {v.get('error')}", file=sys.stderr)
                return 1
        # Polling is not free on 2 cores (an HTTP request and a query per poll, plus this
        # process): 50 ms polls cost ~3 % of the transcode. The end time is the server's own
        # ready_at, so a slow poll adds no error.
        time.sleep(POLL_S)
    print(f"timed out waiting for {name}", file=sys.stderr)
    return 1

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TARGET = re.compile(r" dailies(?:_media)?(?:::\w+)+: (.*)$")

def phases(log_path, video_id):
    """First timestamp of each server log event that concerns this video."""
    want = {"registered": None, "started": None, "decided": None,
            "pipeline done": None, "ready": None, "done": None}
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = ANSI.sub("", line)
            if video_id not in line:
                continue
            parts = line.split(None, 1)
            if not parts:
                continue
            try:
                ts = datetime.fromisoformat(parts[0].replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
            # "TS LEVEL span{..}:span{..}: target::path: message fields"
            m = TARGET.search(line)
            if not m:
                continue
            msg = m.group(1).strip()
            for key in want:
                if want[key] is None and (msg == key or msg.startswith(key + " ")):
                    want[key] = ts
    print(json.dumps(want))
    return 0

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "wait-ready":
        sys.exit(wait_ready(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])))
    if cmd == "phases":
        sys.exit(phases(sys.argv[2], sys.argv[3]))
    sys.exit(f"unknown command {cmd}")
PYEOF
jget() { python3 -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print("" if v is None else v)' "$1" "$2"; }

# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$WORK/data
mkdir -p "$DATA" "$WORK/bare"
cat >"$WORK/dailies.toml" <<EOF
listen = "127.0.0.1:$PORT"
settle_secs = $SETTLE_SECS
rescan_secs = $RESCAN_SECS
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
log "server pid $SERVER_PID on $BASE, data in $DATA"

# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------
loadavg() { cut -d' ' -f1 /proc/loadavg; }
CLK_TCK=$(getconf CLK_TCK)
# CPU time is reported beside wall time: on a shared machine it is much less disturbed by other
# load than wall time, so the CPU ratio shows the pipeline's own overhead.
server_ticks() { # field 14-17: utime stime cutime cstime (the server, its threads, its finished children)
    local stat rest
    stat=$(<"/proc/$SERVER_PID/stat")
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "$((f[11] + f[12])) $((f[13] + f[14]))"
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

# drop SRC NAME SUBDIR -> prints "total settle_wait poll_lag probe ffmpeg_etc" and a detail line
# The file goes to incoming/SUBDIR/NAME (SUBDIR = its owner), so every run is a new video even
# though the content is the same (duplicates are per owner).
drop() {
    local src=$1 name=$2 sub=$3 t0 t1 res id ph c0 c1
    mkdir -p "$DATA/incoming/$sub"
    sleep 1 # let the watcher's event for the new folder pass
    c0=$(server_ticks)
    t0=$(now)
    cp "$src" "$DATA/incoming/$sub/$name"
    t1=$(now)
    res=$(python3 "$PY" wait-ready "$BASE" "$TOKEN" "$name" 1800)
    c1=$(server_ticks)
    id=$(jget "$res" id)
    sleep 0.3 # the "done" log line follows "ready"
    ph=$(python3 "$PY" phases "$SERVER_LOG" "$id")
    python3 - "$t0" "$t1" "$res" "$ph" "$c0" "$c1" "$CLK_TCK" <<'PYEOF'
import json, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
r, p = json.loads(sys.argv[3]), json.loads(sys.argv[4])
(s0, k0), (s1, k1) = [map(int, a.split()) for a in sys.argv[5:7]]
hz = int(sys.argv[7])
def d(a, b):
    return (b - a) if (a is not None and b is not None) else float("nan")
total = r["ready_at"] - t0
settle = d(t1, p["registered"])
print(json.dumps({
    "total": total, "cp": t1 - t0, "settle_wait": settle,
    "queue": d(p["registered"], p["started"]), "probe": d(p["started"], p["decided"]),
    "pipeline": d(p["decided"], p["pipeline done"]), "finish": d(p["pipeline done"], p["ready"]),
    "poll_lag": r["observed"] - r["ready_at"], "observed": r["observed"] - t0,
    "plan": r["processing"], "polls": r["polls"],
    "cpu_server": (s1 - s0) / hz, "cpu_children": (k1 - k0) / hz, "cpu": (s1 - s0 + k1 - k0) / hz,
}))
PYEOF
}

fmt_drop() { # JSON from drop -> human line
    python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("drop→ready %.2f s [cp %.2f, cp-end→registered %.2f (settle+hash+move), queue %.2f, probe+decide %.2f, ffmpeg pipeline %.2f, db %.2f, poll lag %.2f] plan=%s; CPU %.2f s (server %.2f + ffmpeg/ffprobe %.2f)"
      % (j["total"], j["cp"], j["settle_wait"], j["queue"], j["probe"], j["pipeline"], j["finish"], j["poll_lag"], j["plan"], j["cpu"], j["cpu_server"], j["cpu_children"]))' "$1"
}

best_of() { # best_of KEY JSON... -> the JSON with the smallest KEY
    python3 -c '
import json, sys
key = sys.argv[1]
runs = [json.loads(a) for a in sys.argv[2:]]
print(json.dumps(min(runs, key=lambda j: j[key])))' "$@"
}

# --- 1. keep path ---------------------------------------------------------------------------
# KEY=VALUE lines: PLAN THREADS VIDEO_INDEX SPRITE_VF POSTER_VF
STILLS=$("$HELPER" stills "$KEEP_SRC")
while IFS= read -r kv; do
    declare "${kv%%=*}=${kv#*=}"
done <<<"$STILLS"
[[ $PLAN == keep ]] || { echo "bench: $KEEP_SRC is not on the keep path (plan $PLAN)" >&2; exit 1; }
KEEP_MB=$(calc "$(stat -c %s "$KEEP_SRC") / 1e6")
log ""
log "== keep path: $(basename "$KEEP_SRC") (${KEEP_MB} MB), best of $RUNS, load avg $(loadavg) =="
log "   bare poster: -vf $POSTER_VF"
log "   bare sprite: -vf $SPRITE_VF"

bare_keep() {
    local dst=$WORK/bare/copy.mp4 t0 t1 t2 t3 c0 c1
    rm -f "$dst" "$WORK/bare/poster.jpg" "$WORK/bare/sprite.jpg"
    children_cpu
    c0=$CHILD_CPU
    t0=$(now)
    cp "$KEEP_SRC" "$dst"
    t1=$(now)
    ffmpeg -nostdin -hide_banner -loglevel error -y -threads "$THREADS" -i "$dst" \
        -map "0:$VIDEO_INDEX" -vf "$POSTER_VF" -frames:v 1 -c:v mjpeg -q:v 2 -f image2 -update 1 \
        "$WORK/bare/poster.jpg"
    t2=$(now)
    ffmpeg -nostdin -hide_banner -loglevel error -y -threads "$THREADS" -i "$dst" \
        -map "0:$VIDEO_INDEX" -vf "$SPRITE_VF" -frames:v 1 -c:v mjpeg -q:v 4 -f image2 -update 1 \
        "$WORK/bare/sprite.jpg"
    t3=$(now)
    children_cpu
    c1=$CHILD_CPU
    [[ -s $WORK/bare/poster.jpg && -s $WORK/bare/sprite.jpg ]] || { echo "bench: bare stills missing" >&2; exit 1; }
    rm -f "$dst"
    python3 -c 'import json, sys; a = [float(x) for x in sys.argv[1:5]]; c = [eval(x) for x in sys.argv[5:]]; print(json.dumps({"total": a[3]-a[0], "cp": a[1]-a[0], "poster": a[2]-a[1], "sprite": a[3]-a[2], "cpu": c[1]-c[0]}))' \
        "$t0" "$t1" "$t2" "$t3" "$c0" "$c1"
}

KEEP_BARE=()
KEEP_DROP=()
keep_bare_run() {
    local b
    b=$(bare_keep)
    KEEP_BARE+=("$b")
    log "   run $1 bare: $(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("cp %.2f + poster %.2f + sprite %.2f = %.2f s; CPU %.2f s" % (j["cp"], j["poster"], j["sprite"], j["total"], j["cpu"]))' "$b") (load $(loadavg))"
}
keep_drop_run() {
    local d
    d=$(drop "$KEEP_SRC" "keep_run$1.mp4" "benchkeep$1")
    KEEP_DROP+=("$d")
    log "   run $1 drop: $(fmt_drop "$d") (load $(loadavg))"
}
# Odd runs measure the bare side first, even runs the server first, so neither side always
# gets the cooler (or warmer) machine.
for i in $(seq "$RUNS"); do
    if ((i % 2)); then keep_bare_run "$i"; keep_drop_run "$i"; else keep_drop_run "$i"; keep_bare_run "$i"; fi
done

# --- 2. transcode path ----------------------------------------------------------------------
TRANS_MB=$(calc "$(stat -c %s "$TRANS_SRC") / 1e6")
log ""
log "== transcode path: $(basename "$TRANS_SRC") (${TRANS_MB} MB), best of $RUNS, load avg $(loadavg) =="

bare_transcode() {
    local out=$WORK/bare/playable.mp4 res c0 c1
    rm -f "$out"
    children_cpu
    c0=$CHILD_CPU
    res=$("$HELPER" transcode "$TRANS_SRC" "$out")
    children_cpu
    c1=$CHILD_CPU
    [[ -s $out ]] || { echo "bench: bare transcode wrote nothing" >&2; exit 1; }
    rm -f "$out"
    [[ $1 != 1 ]] || printf '%s\n' "$res" | grep '^args=' | sed 's/^/   bare /' >&2
    python3 -c 'import json, sys; print(json.dumps({"total": float(sys.argv[1]), "cpu": eval(sys.argv[3]) - eval(sys.argv[2])}))' \
        "$(printf '%s\n' "$res" | sed -n 's/^bare_transcode_s=//p')" "$c0" "$c1"
}

TRANS_BARE=()
TRANS_DROP=()
trans_bare_run() {
    local b
    b=$(bare_transcode "$1")
    TRANS_BARE+=("$b")
    log "   run $1 bare transcode: $(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("%.2f s; CPU %.2f s" % (j["total"], j["cpu"]))' "$b") (load $(loadavg))"
}
trans_drop_run() {
    local d
    d=$(drop "$TRANS_SRC" "transcode_run$1.mov" "benchtrans$1")
    TRANS_DROP+=("$d")
    log "   run $1 drop: $(fmt_drop "$d") (load $(loadavg))"
}
for i in $(seq "$RUNS"); do
    if ((i % 2)); then trans_bare_run "$i"; trans_drop_run "$i"; else trans_drop_run "$i"; trans_bare_run "$i"; fi
done

# --- 3. idle server -------------------------------------------------------------------------
log ""
log "== idle server: ${IDLE_SECS} s, load avg $(loadavg) =="
sleep 2 # let the last job's bookkeeping finish
cpu_ticks() { # utime + stime of the server process (all its threads)
    local stat rest
    stat=$(<"/proc/$SERVER_PID/stat")
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo $((f[11] + f[12]))
}
c0=$(cpu_ticks)
w0=$(now)
sleep "$IDLE_SECS"
c1=$(cpu_ticks)
w1=$(now)
RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
THREADS_N=$(awk '/^Threads:/ {print $2}' "/proc/$SERVER_PID/status")

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
KB=$(best_of total "${KEEP_BARE[@]}")
KD=$(best_of total "${KEEP_DROP[@]}")
TB=$(best_of total "${TRANS_BARE[@]}")
CPU_MIN=$(python3 -c '
import json, sys
groups = [g.split("\x1f") for g in sys.argv[1:]]
print(json.dumps([min(json.loads(j)["cpu"] for j in g) for g in groups]))' \
    "$(IFS=$'\x1f'; echo "${KEEP_BARE[*]}")" "$(IFS=$'\x1f'; echo "${KEEP_DROP[*]}")" \
    "$(IFS=$'\x1f'; echo "${TRANS_BARE[*]}")" "$(IFS=$'\x1f'; echo "${TRANS_DROP[*]}")")
TD=$(best_of total "${TRANS_DROP[@]}")

echo ""
echo "# dailies bench: best of $RUNS per side; settle_secs=$SETTLE_SECS rescan_secs=$RESCAN_SECS; $(nproc) cores; ffmpeg threads=$THREADS"
python3 - "$KB" "$KD" "$TB" "$TD" "$SETTLE_SECS" "$CPU_MIN" <<'PYEOF'
import json, sys
kb, kd = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tb, td = json.loads(sys.argv[3]), json.loads(sys.argv[4])
settle_cfg = float(sys.argv[5])
cpu_kb, cpu_kd, cpu_tb, cpu_td = json.loads(sys.argv[6])

def line(name, target, drop, bare, bare_desc):
    r = drop["total"] / bare
    print(f"{name}_ratio={r:.2f} (drop→ready {drop['total']:.2f} s / {bare_desc} {bare:.2f} s) target ≤ {target}")
    ex = drop["total"] - drop["settle_wait"]
    print(f"{name}_ratio_excl_settle={ex / bare:.2f} (drop→ready minus cp-end→registered "
          f"{drop['settle_wait']:.2f} s = {ex:.2f} s; that wait holds settle_secs={settle_cfg}, the "
          f"watcher debounce and scan, hashing and the move)")
    ex2 = drop["total"] - settle_cfg
    print(f"{name}_ratio_excl_settle_secs={ex2 / bare:.2f} (drop→ready minus the configured {settle_cfg} s only)")
    print(f"{name}_breakdown: cp {drop['cp']:.2f} | cp-end→registered {drop['settle_wait']:.2f} | "
          f"queue {drop['queue']:.2f} | probe+decide {drop['probe']:.2f} | ffmpeg pipeline "
          f"{drop['pipeline']:.2f} | db {drop['finish']:.2f} | poll lag {drop['poll_lag']:.2f} "
          f"(ready seen by the poll {drop['observed']:.2f} s after cp start)")

line("keep_path", 1.2, kd, kb["total"], "cp+poster+sprite")
print(f"keep_path_bare: cp {kb['cp']:.2f} s + poster {kb['poster']:.2f} s + sprite {kb['sprite']:.2f} s")
print(f"keep_path_cpu_ratio={cpu_kd / cpu_kb:.2f} (CPU s, min per side: server+ffmpeg/ffprobe {cpu_kd:.2f} / cp+poster+sprite {cpu_kb:.2f}; insensitive to other load)")
line("transcode_path", 1.15, td, tb["total"], "bare transcode")
print(f"transcode_path_cpu_ratio={cpu_td / cpu_tb:.2f} (CPU s, min per side: server+ffmpeg/ffprobe {cpu_td:.2f} / bare transcode {cpu_tb:.2f}; insensitive to other load)")
PYEOF
IDLE_CPU=$(calc "($c1 - $c0) / $CLK_TCK / ($w1 - $w0) * 100")
echo "idle_cpu_pct=$IDLE_CPU ($((c1 - c0)) ticks of ${CLK_TCK}/s over $(calc "$w1 - $w0") s) target ~0"
echo "idle_rss_mb=$(calc "$RSS_KB / 1024") (VmRSS; peak VmHWM $(calc "$HWM_KB / 1024") MB, $THREADS_N threads) target < 50"
