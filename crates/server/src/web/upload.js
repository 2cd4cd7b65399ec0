// Uploads from the library page: drop files on the zone or pick them, and each one is checked
// by its SHA-256 before a byte is sent (content already here is shown as a link to the existing
// video), then sent with tus. An upload's URL is kept in localStorage under the file's name,
// size and modification time: after a reload, picking the same file again continues where the
// server stopped. The finished video appears in the library through the event stream.
import { api } from "./session.js";
import { TusUpload, UploadGone, statusOf } from "./tus.js";
import { sha256File } from "./sha256.js";

const PREFIX = "dailies.upload:";
const keyOf = (f) => `${PREFIX}${f.name}:${f.size}:${f.lastModified}`;
const saved = (f) => { try { return JSON.parse(localStorage.getItem(keyOf(f))); } catch { return null; } };
const remember = (f, v) => localStorage.setItem(keyOf(f), JSON.stringify(v));
const forget = (f) => localStorage.removeItem(keyOf(f));

// An error as a sentence: the server's words without the status code api() puts first.
const readable = (e) => String(e && e.message || e).replace(/^\d{3} /, "");

function size(n) {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

// Uploads left unfinished by an earlier visit: named, so the user knows to pick them again.
function showResumable(el) {
  const names = Object.keys(localStorage).filter((k) => k.startsWith(PREFIX))
    .map((k) => { try { return JSON.parse(localStorage.getItem(k)).name; } catch { return null; } })
    .filter(Boolean);
  el.hidden = !names.length;
  el.textContent = names.length ? `Unfinished: ${names.join(", ")}. Pick the same file again to continue where it stopped.` : "";
}

function row(list, file) {
  const li = document.createElement("li");
  li.className = "upload";
  li.innerHTML = `<div class="name"></div><div class="actions"><button type="button" class="quiet pause" hidden>Pause</button></div><progress max="1" value="0"></progress><div class="state"></div>`;
  li.querySelector(".name").textContent = file.name;
  li.dataset.name = file.name;
  list.prepend(li);
  const state = li.querySelector(".state");
  return {
    li,
    bar: li.querySelector("progress"),
    button: li.querySelector(".pause"),
    say(text, cls = "") {
      li.className = `upload ${cls}`;
      state.textContent = text;
    },
    link(text, href, label, cls) {
      li.className = `upload ${cls}`;
      const a = document.createElement("a");
      a.href = href;
      a.textContent = label;
      state.replaceChildren(text, a);
    },
  };
}

async function send(file, ui, resumable) {
  let url = null;
  const previous = saved(file);
  if (previous) {
    url = previous.url;
  } else {
    ui.say("Checking for a copy already here…", "checking");
    const sha256 = await sha256File(file, (p) => { ui.bar.value = p; ui.say(`Checking for a copy already here… ${Math.round(p * 100)} %`, "checking"); });
    const answer = await (await api("/api/uploads/check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sha256, size: file.size, filename: file.name }),
    })).json();
    if (answer.action === "exists") {
      ui.bar.value = 1;
      ui.link("Already in the library, nothing sent: ", `/watch/${answer.video_id}`, "open the existing video", "duplicate");
      return;
    }
    if (answer.action === "duplicate_request" && answer.upload_url) url = answer.upload_url;
    file.sha256 = sha256;
  }

  const upload = new TusUpload(file, {
    url,
    metadata: { filename: file.name, sha256: file.sha256 },
    onProgress: (offset, total, speed) => {
      ui.bar.value = total ? offset / total : 0;
      const rate = speed ? ` · ${size(speed)}/s` : "";
      ui.say(`${size(offset)} of ${size(total)} (${Math.floor((offset / total) * 100)} %)${rate}`, "sending");
      if (upload.url) remember(file, { url: upload.url, name: file.name });
    },
  });
  ui.button.hidden = false;
  ui.button.textContent = "Pause";
  let running = null;
  const go = () => {
    ui.button.textContent = "Pause";
    running = upload.start().then((done) => {
      if (!done) {
        ui.button.textContent = "Resume";
        ui.say(`Paused at ${Math.floor((upload.offset / file.size) * 100)} %`, "paused");
        return;
      }
      forget(file);
      showResumable(resumable);
      ui.button.hidden = true;
      ui.bar.value = 1;
      ui.link("Uploaded. ", `/watch/${upload.videoId}`, "Open", "done");
    });
    return running;
  };
  ui.button.onclick = () => {
    if (ui.button.textContent === "Pause") upload.pause();
    else go().catch(fail);
  };
  const fail = (e) => {
    ui.button.hidden = true;
    if (e instanceof UploadGone) {
      forget(file);
      ui.say(`The earlier upload is gone (${e.message}); starting again…`);
      return send(file, ui, resumable).catch((err) => ui.say(`Upload failed: ${readable(err)}`, "failed"));
    }
    ui.say(`Upload failed: ${readable(e)}${statusOf(e) === 0 ? " (connection lost; pick the file again to continue)" : ""}`, "failed");
  };
  try {
    await go();
  } catch (e) {
    await fail(e);
  }
}

// At most this many files are hashed or sent at once (each hash of a file that fits holds the
// whole file in memory; the server limits open uploads per user too).
const AT_ONCE = 2;

export function setupUploads({ zone, input, list, resumable }) {
  showResumable(resumable);
  const waiting = [];
  let running = 0;
  const next = () => {
    while (running < AT_ONCE && waiting.length) {
      const { file, ui } = waiting.shift();
      running++;
      send(file, ui, resumable)
        .catch((e) => ui.say(`Upload failed: ${readable(e)}`, "failed"))
        .finally(() => { running--; next(); });
    }
  };
  const take = (files) => {
    for (const file of files) {
      const ui = row(list, file);
      ui.say("Waiting…");
      waiting.push({ file, ui });
    }
    next();
  };
  input.addEventListener("change", () => { take([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    take([...e.dataTransfer.files]);
  });
}
