// The player page, /watch/{id}: the video with a frame-accurate timecode, the timeline with a
// marker per time-coded comment, the comment list, drawing on the paused frame, and the
// keyboard (space plays and pauses, the arrows step one frame). It follows the video's events,
// so comments from others appear, and a video still being processed opens when it is ready.
import { api, ready, shareToken, mediaSrc, whoami } from "./session.js";
import { follow } from "./live.js";
import { timecode, frameOf, frameDuration, clock } from "./timecode.js";
import { createTimeline } from "./timeline.js";
import { createSketch, COLOURS } from "./sketch.js";
import { createCommentsPanel } from "./comments_panel.js";
import { createShareDialog } from "./share_dialog.js";

const $ = (sel) => document.querySelector(sel);
const videoId = decodeURIComponent(location.pathname.split("/")[2] || "");
const video = $("#video");
let info = null;
let fps = 25;
let panel = null;
let timeline = null;
let sketch = null;
let drawnAt = null;
let started = false;

function notice(text, bad = false) {
  const n = $("#notice");
  n.hidden = !text;
  n.textContent = text || "";
  n.classList.toggle("bad", bad);
  $("#watch").hidden = !!text;
}

// Loads the video's JSON and shows the player, or says why it cannot.
async function load() {
  try {
    info = await (await api(`/api/videos/${encodeURIComponent(videoId)}`)).json();
  } catch (e) {
    if (e.message.startsWith("404")) notice("This video does not exist, or you may not see it.", true);
    else if (e.message.startsWith("401")) notice("Sign in on the library page first.", true);
    else notice(`Cannot load this video: ${e.message}`, true);
    return;
  }
  document.title = `${info.title} · dailies`;
  if (info.status === "failed") {
    notice(`Processing “${info.title}” failed: ${info.error || "unknown error"}`, true);
  } else if (info.status !== "ready") {
    const pct = info.progress ? ` (${Math.round(info.progress * 100)} %)` : "";
    notice(`“${info.title}” is being processed${pct}. The player opens here when it is ready.`);
  } else if (!info.media_url) {
    notice(`“${info.title}” has no playable file.`, true);
  } else if (!started) {
    started = true;
    await start();
  }
}

async function start() {
  fps = info.fps || 25;
  notice("");
  $("#title").textContent = info.title;
  $("#facts").textContent = [clock(info.duration_s), info.width && `${info.width}×${info.height}`,
    info.fps && `${Math.round(info.fps * 1000) / 1000} fps`, info.owner].filter(Boolean).join(" · ");

  timeline = createTimeline($("#timeline"), {
    onSeek: (t) => seek(t),
    onMarker: (id) => { const c = panel.get(id); if (c) jumpTo(c); },
  });
  timeline.setDuration(info.duration_s);

  sketch = createSketch($("#sketch"));
  $("#swatches").append(...COLOURS.map((c, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `swatch${i === 0 ? " chosen" : ""}`;
    b.style.background = c;
    b.title = c;
    b.addEventListener("click", () => {
      sketch.setColour(c);
      for (const s of $("#swatches").children) s.classList.toggle("chosen", s === b);
    });
    return b;
  }));

  const me = await whoami().catch(() => null);
  // Those who manage the video (its owner, administrators) may give share links.
  if (me && (me.is_admin || me.name === info.owner)) {
    const dialog = createShareDialog(info.id);
    $("#share").hidden = false;
    $("#share").addEventListener("click", () => dialog.open());
  }
  panel = createCommentsPanel($("#comments"), {
    videoId: info.id,
    fps,
    me,
    ownerName: info.owner,
    onSeek: jumpTo,
    onChange: (list) => {
      timeline.setMarkers(list.filter((c) => c.timecode_s != null)
        .map((c) => ({ id: c.id, t: c.timecode_s, label: `${c.author?.name || ""}: ${c.text || ""}` })));
      shownDrawing();
    },
    onError: (m) => { $("#form-msg").textContent = m; },
  });
  panel.load().catch((e) => { $("#form-msg").textContent = `Cannot load the comments: ${e.message}`; });

  wireControls();
  if (info.poster_url) mediaSrc(info.poster_url).then((u) => { video.poster = u; }).catch(() => {});
  $("#tc").textContent = "Loading the video…";
  try {
    video.src = await mediaSrc(info.media_url);
  } catch (e) {
    notice(`Cannot load the video file: ${e.message}`, true);
  }
}

// --- playing and seeking ---

function seek(t) {
  video.currentTime = Math.min(Math.max(0, t), info.duration_s || video.duration || 0);
  tick();
}

function jumpTo(c) {
  panel.setActive(c.id);
  timeline.setActive(c.id);
  if (c.timecode_s != null) {
    video.pause();
    seek(c.timecode_s);
  }
}

function step(frames) {
  video.pause();
  const target = (frameOf(video.currentTime, fps) + frames) / fps;
  seek(target);
}

function toggle() {
  if (video.paused || video.ended) video.play().catch(() => {});
  else video.pause();
}

// The picture's rectangle inside the stage (the video is letterboxed), for the overlays.
function fitOverlays() {
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return;
  const box = video.getBoundingClientRect(), stage = $("#stage").getBoundingClientRect();
  const scale = Math.min(box.width / w, box.height / h);
  const pw = w * scale, ph = h * scale;
  for (const el of [$("#sketch"), $("#shown")]) {
    el.style.left = `${box.left - stage.left + (box.width - pw) / 2}px`;
    el.style.top = `${box.top - stage.top + (box.height - ph) / 2}px`;
    el.style.width = `${pw}px`;
    el.style.height = `${ph}px`;
  }
}

// A comment's drawing is shown on its frame while paused, and for a second from its frame
// while playing (a single frame would flash by unseen).
let shownUrl = null;
function shownDrawing() {
  if (!panel) return;
  const t = video.currentTime, fd = frameDuration(fps);
  let pick = null;
  if (!sketch.enabled) {
    for (const c of panel.all()) {
      if (c.deleted || !c.drawing_url || c.timecode_s == null) continue;
      const here = video.paused
        ? frameOf(t, fps) === frameOf(c.timecode_s, fps)
        : t >= c.timecode_s - fd / 2 && t < c.timecode_s + Math.max(1, fd);
      if (here && (!pick || c.timecode_s >= pick.timecode_s)) pick = c;
    }
  }
  const img = $("#shown");
  // The drawing's address stays when it is replaced; its edit time tells the versions apart.
  const url = pick ? (pick.edited_at ? `${pick.drawing_url}?v=${pick.edited_at}` : pick.drawing_url) : null;
  if (url === shownUrl) return;
  shownUrl = url;
  img.dataset.comment = pick ? pick.id : "";
  if (!url) { img.hidden = true; img.removeAttribute("src"); return; }
  mediaSrc(url).then((src) => {
    if (shownUrl !== url) return;
    img.src = src;
    img.hidden = false;
  }).catch(() => {});
}

function tick() {
  const t = video.currentTime;
  $("#tc").textContent = `${timecode(t, fps)} / ${timecode(info.duration_s, fps)}`;
  const at = drawnAt != null && !sketch.isEmpty() ? drawnAt : t;
  $("#at-tc").textContent = timecode(at, fps);
  timeline.setTime(t);
  // An unsent drawing belongs to its frame: it is seen only there.
  $("#sketch").style.visibility = sketch.isEmpty() || frameOf(t, fps) === frameOf(drawnAt, fps) ? "visible" : "hidden";
  $("#drawing-note").textContent = sketch.isEmpty() ? "" : "with drawing";
  shownDrawing();
}

function loop() {
  tick();
  if (!video.paused) requestAnimationFrame(loop);
}

function setDrawing(on) {
  if (on) {
    video.pause();
    sketch.size(video.videoWidth || 2, video.videoHeight || 2);
    fitOverlays();
    if (sketch.isEmpty() || drawnAt == null) drawnAt = frameOf(video.currentTime, fps) / fps;
    $("#at").checked = true;
  }
  sketch.enable(on);
  $("#tools").hidden = !on;
  $("#draw").textContent = on ? "Done drawing" : "Draw";
  tick();
}

function wireControls() {
  video.addEventListener("play", () => { $("#play").textContent = "Pause"; if (sketch.enabled) setDrawing(false); loop(); });
  video.addEventListener("pause", () => { $("#play").textContent = "Play"; tick(); });
  video.addEventListener("ended", () => { $("#play").textContent = "Play"; });
  for (const ev of ["seeked", "timeupdate", "loadedmetadata"]) video.addEventListener(ev, tick);
  video.addEventListener("loadedmetadata", fitOverlays);
  video.addEventListener("click", toggle);
  new ResizeObserver(fitOverlays).observe($("#stage"));
  const button = (sel, fn) => $(sel).addEventListener("click", (e) => { fn(); e.currentTarget.blur(); });
  button("#play", toggle);
  button("#back", () => step(-1));
  button("#fwd", () => step(1));
  button("#mute", () => { video.muted = !video.muted; $("#mute").textContent = video.muted ? "Unmute" : "Mute"; });
  button("#draw", () => setDrawing(!sketch.enabled));
  button("#undo", () => { sketch.undo(); tick(); });
  button("#clear", () => { sketch.clear(); tick(); });
  $("#sketch").addEventListener("pointerup", tick);

  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select, [contenteditable]") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " ") { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); step(-1); }
    else if (e.key === "ArrowRight") { e.preventDefault(); step(1); }
  });

  $("#new").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("#text").value;
    if (!text.trim()) { $("#form-msg").textContent = "Write something first."; return; }
    const body = { text };
    const drawing = !sketch.isEmpty();
    if (drawing) {
      body.drawing = sketch.toDataURL();
      body.timecode_s = drawnAt;
    } else if ($("#at").checked) {
      body.timecode_s = frameOf(video.currentTime, fps) / fps;
    }
    $("#send").disabled = true;
    try {
      const c = await (await api(`/api/videos/${info.id}/comments`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      })).json();
      panel.upsert(c);
      $("#text").value = "";
      $("#form-msg").textContent = "";
      sketch.clear();
      drawnAt = null;
      setDrawing(false);
    } catch (err) {
      $("#form-msg").textContent = `Not sent: ${err.message}`;
    } finally {
      $("#send").disabled = false;
    }
  });

  $("#text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("#new").requestSubmit(); }
  });

  const exportLink = (sel, ext) => {
    $(sel).href = `/api/videos/${info.id}/comments.${ext}`;
    $(sel).addEventListener("click", (e) => download(e, ext));
  };
  const download = async (e, ext) => {
    e.preventDefault();
    try {
      const a = document.createElement("a");
      a.href = await mediaSrc(`/api/videos/${info.id}/comments.${ext}`);
      a.download = `${info.title}.${ext}`;
      a.click();
    } catch (err) {
      $("#form-msg").textContent = `Cannot export: ${err.message}`;
    }
  };
  exportLink("#csv", "csv");
  exportLink("#edl", "edl");
}

// --- live ---

function onEvent(e) {
  if (e.video_id !== videoId) return;
  if (e.kind.startsWith("comment.") && panel) {
    if (e.kind === "comment.deleted" && e.data.removed) panel.remove(e.data.id);
    else panel.upsert(e.data);
  } else if (started && e.kind === "video.updated") {
    // A new title, say: the facts change, the player stays.
    api(`/api/videos/${encodeURIComponent(videoId)}`).then((r) => r.json()).then((v) => {
      info = { ...info, title: v.title };
      $("#title").textContent = v.title;
      document.title = `${v.title} · dailies`;
    }).catch(() => {});
  } else if (e.kind === "video.deleted") {
    video.pause();
    notice("This video was deleted.", true);
  } else if (!started && e.kind === "job.progress" && info && info.status !== "failed") {
    notice(`“${info.title}” is being processed (${Math.round((e.data.progress || 0) * 100)} %). The player opens here when it is ready.`);
  } else if (!started && (e.kind.startsWith("video.") || e.kind === "job.done" || e.kind === "job.failed")) {
    load();
  }
}

// Signed in, or holding a share link.
if (!(await ready) && !shareToken) {
  notice("Sign in to watch this video.", true);
} else {
  load().then(() => {
    if (!info) return;
    // Each time the stream is (again) live the comments are fetched afresh, so nothing
    // written before it connected, or while it was down, is missed.
    follow(`video=${encodeURIComponent(videoId)}`, onEvent, (state) => {
      $("#conn").textContent = state === "live" ? "live" : "reconnecting…";
      $("#conn").className = state;
      if (state === "live" && panel) panel.load().catch(() => {});
    });
  });
}
