// The library page: lists the caller's videos, shows live processing state, scrubs through the
// sprite sheet on hover, and opens a video's player page (/watch/{id}) when its card is
// clicked. Media elements load their files directly: the session cookie (or the share
// link's token, through mediaUrl) goes with them. The page follows the event stream and
// redraws when a video or its processing changes. The upload zone above the grid is upload.js.
import { api, mediaUrl, ready } from "./session.js";
import { follow } from "./live.js";
import { setupUploads } from "./upload.js";

const $ = (sel) => document.querySelector(sel);

function fmtDuration(s) {
  if (s == null) return "";
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return `${m}:${String(sec).padStart(2, "0")}`;
}

// The magnet link opens the visitor's BitTorrent client; the .torrent downloads under the
// video's name.
function torrentLinks(v) {
  const span = document.createElement("span");
  span.className = "torrent";
  const magnet = document.createElement("a");
  magnet.href = v.magnet_uri;
  magnet.textContent = "magnet";
  magnet.title = "Open in a BitTorrent client";
  const file = document.createElement("a");
  file.href = mediaUrl(v.torrent_url);
  file.download = `${v.title}.torrent`;
  file.textContent = ".torrent";
  span.append(magnet, " ", file);
  return span;
}

function card(v) {
  const el = document.createElement("div");
  el.className = `card ${v.status}`;
  el.dataset.id = v.id;
  el.innerHTML = `<a><div class="thumb"><div class="scrub"></div></div><div class="meta"><div class="title"></div></div></a><div class="meta"><div class="sub"></div><div class="actions"></div></div>`;
  el.querySelector("a").href = `/watch/${encodeURIComponent(v.id)}`;
  el.querySelector(".title").textContent = v.title;
  const sub = el.querySelector(".sub");
  if (v.status === "processing") {
    const p = document.createElement("progress");
    p.max = 1; p.value = v.progress || 0;
    sub.append(p);
  } else if (v.status === "failed") {
    sub.textContent = v.error || "failed";
  } else {
    sub.textContent = [v.status === "ready" ? fmtDuration(v.duration_s) : v.status, v.width && `${v.width}×${v.height}`, v.owner].filter(Boolean).join(" · ");
  }
  if (v.magnet_uri) sub.append(" · ", torrentLinks(v));
  const thumb = el.querySelector(".thumb");
  if (v.poster_url) thumb.style.backgroundImage = `url("${mediaUrl(v.poster_url)}")`;
  if (v.sprite_url && v.sprite) {
    const scrub = el.querySelector(".scrub");
    const g = v.sprite;
    scrub.style.backgroundImage = `url("${mediaUrl(v.sprite_url)}")`;
    thumb.addEventListener("mousemove", (e) => {
      const r = thumb.getBoundingClientRect();
      const i = Math.min(g.count - 1, Math.floor(((e.clientX - r.left) / r.width) * g.count));
      const scale = r.width / g.tile_width;
      scrub.style.backgroundSize = `${g.columns * g.tile_width * scale}px ${g.rows * g.tile_height * scale}px`;
      scrub.style.backgroundPosition = `${-(i % g.columns) * r.width}px ${-Math.floor(i / g.columns) * g.tile_height * scale}px`;
    });
  }
  if (me && (me.is_admin || me.name === v.owner)) manageButtons(el.querySelector(".actions"), v);
  return el;
}

// Rename in place and delete (a second click confirms), for the video's owner and administrators.
function manageButtons(box, v) {
  const button = (label, cls) => Object.assign(document.createElement("button"), { type: "button", className: `quiet ${cls}`, textContent: label });
  const rename = button("Rename", "rename");
  const del = button("Delete", "delete");
  const error = Object.assign(document.createElement("span"), { className: "error" });
  rename.addEventListener("click", () => {
    const form = document.createElement("form");
    form.className = "rename-form";
    const input = Object.assign(document.createElement("input"), { value: v.title, maxLength: 200, required: true });
    form.append(input, button("Save", "save"));
    form.querySelector(".save").type = "submit";
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api(`/api/videos/${v.id}`, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ title: input.value }) });
        refresh();
      } catch (err) { error.textContent = err.message.replace(/^\d+ /, ""); }
    });
    box.replaceChildren(form, error);
    input.focus();
    input.select();
  });
  const askAgain = () => {
    del.classList.add("confirm");
    del.textContent = "Really delete?";
  };
  if (confirmingDelete.has(v.id)) askAgain();
  del.addEventListener("click", async () => {
    if (!del.classList.contains("confirm")) {
      confirmingDelete.add(v.id);
      askAgain();
      return;
    }
    try {
      await api(`/api/videos/${v.id}`, { method: "DELETE" });
      confirmingDelete.delete(v.id);
      refresh();
    } catch (err) { error.textContent = err.message.replace(/^\d+ /, ""); }
  });
  box.append(rename, del, error);
}

/** Videos whose Delete was clicked once: a live refresh redraws the cards and must keep asking. */
const confirmingDelete = new Set();

let me = null;
async function refresh() {
  const signedIn = await ready;
  me = signedIn;
  $("#upload").hidden = $("#search").hidden = !signedIn;
  if (!signedIn) {
    $("#msg").textContent = "Sign in to see your library.";
    return;
  }
  try {
    const q = $("#search").value.trim();
    const { items } = await (await api(`/api/videos?limit=200${q ? `&q=${encodeURIComponent(q)}` : ""}`)).json();
    $("#msg").textContent = items.length ? "" : q ? `No video has “${q}” in its title.` : "No videos yet. Upload one above, or copy a file into data/incoming/<user>/.";
    $("#grid").replaceChildren(...items.map(card));
  } catch (e) {
    $("#msg").textContent = `Cannot load the library: ${e.message}`;
  }
}

refresh();
let searching = null;
$("#search").addEventListener("input", () => {
  clearTimeout(searching);
  searching = setTimeout(refresh, 250);
});
setupUploads({ zone: $("#drop"), input: $("#files"), list: $("#uploads"), resumable: $("#resumable") });

// Redraw on changes, at most a few times a second; progress moves the bars in place.
let pending = null;
function soon() {
  if (!pending) {
    pending = setTimeout(() => {
      pending = null;
      // Someone typing a new title keeps their field; saving redraws.
      if (document.querySelector(".rename-form")) soon(); else refresh();
    }, 300);
  }
}
if (await ready) follow("", (e) => {
  // Encodes and thumbnails change nothing in the library.
  if (e.data && e.data.kind && e.data.kind !== "process") return;
  if (e.kind === "job.progress") {
    const bar = document.querySelector(`.card[data-id="${e.video_id}"] progress`);
    if (bar) bar.value = e.data.progress;
    else soon();
  } else {
    soon();
  }
});
