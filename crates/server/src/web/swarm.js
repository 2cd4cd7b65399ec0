// The library's swarm (administrators): the master serving media/ and every review station
// mirroring it, one row per node with its chunks drawn as cells (held, arriving, missing), so
// a sync can be watched as it spreads. The master's status is asked for every second.
import { api, ready } from "./session.js";

const $ = (sel) => document.querySelector(sel);
const REFRESH_MS = 1000;

function size(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i++; }
  return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

// The server's map: one character per column, "#" held, "+" arriving (or mostly held), ":" and
// "." partly held, " " nothing.
const CELL = { "#": "c4", "+": "c3", ":": "c2", ".": "c1" };
function map(text, singleChunks) {
  const div = document.createElement("div");
  div.className = "map";
  for (const ch of text) {
    const cell = document.createElement("span");
    if (singleChunks && ch === "+") cell.className = "in";
    else if (singleChunks && ch === ".") cell.className = "";
    else cell.className = CELL[ch] || "";
    div.append(cell);
  }
  return div;
}

function row(name, mapCell, held, state, cls = "") {
  const tr = document.createElement("tr");
  tr.className = cls;
  for (const v of [name, mapCell, held, state]) {
    const td = document.createElement("td");
    if (typeof v === "string") td.textContent = v; else td.append(v);
    tr.append(td);
  }
  return tr;
}

let pending = null;
async function load() {
  clearTimeout(pending);
  try {
    const s = await (await api("/api/swarm")).json();
    if (!s.enabled) {
      $("#msg").textContent = "This server does not serve the library as a swarm master. Set swarm_listen and swarm_token in its settings.";
      return;
    }
    const st = s.status;
    const single = st.chunks <= 120;
    $("#msg").textContent = "";
    $("#summary").textContent = `Master at ${s.advertise}: ${st.files} files, ${size(st.bytes)} in ${st.chunks} chunks, ${st.peers.length} peers, ${st.transfers} transfers in flight${st.all_synced ? ", all in sync" : ""}.`;
    const full = "#".repeat(Math.min(Math.max(st.chunks, 1), 120));
    const rows = [row("master", map(full, single), "100%", "source")];
    for (const p of st.peers) {
      const share = st.bytes_unique ? Math.round((100 * p.bytes_held) / st.bytes_unique) : 100;
      const state = p.banned ? "avoided (served bad chunks)" : p.complete ? "in sync" : "syncing";
      const tr = row(p.url, map(p.chunk_map, single), `${share}%`, state, p.banned ? "banned" : "");
      tr.dataset.url = p.url;
      rows.push(tr);
    }
    $("#peers").replaceChildren(...rows);
    $("#failed").replaceChildren(...st.failed_peers.map((f) => {
      const li = document.createElement("li");
      li.textContent = `${f.url}: ${f.message}`;
      return li;
    }));
  } catch (e) {
    $("#msg").textContent = e.message.startsWith("404")
      ? "Only administrators see the swarm."
      : `Cannot load the swarm: ${e.message}`;
  }
  pending = setTimeout(load, REFRESH_MS);
}

if (!(await ready)) {
  $("#msg").textContent = "Sign in to see the swarm.";
} else {
  load();
}
