// The nodes of this deployment (administrators only): each API node and worker with its roles,
// status, last heartbeat, what it can run and the jobs it is running. Heartbeats come every
// 10 s, so the page asks again every few seconds, and at once when a job starts or ends.
import { api, ready } from "./session.js";
import { follow } from "./live.js";

const $ = (sel) => document.querySelector(sel);
const REFRESH_MS = 3000;

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 90 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

function cell(tr, cls, text) {
  const td = document.createElement("td");
  td.className = cls;
  td.textContent = text;
  tr.append(td);
  return td;
}

function row(node) {
  const tr = document.createElement("tr");
  tr.dataset.id = node.id;
  tr.className = `status-${node.status}`;
  const name = cell(tr, "name", `${node.host} · pid ${node.pid}`);
  name.title = `node ${node.id}, version ${node.version}${node.listen ? `, listening on ${node.listen}` : ""}`;
  if (node.this_node) name.textContent += " (this page's server)";
  cell(tr, "roles", node.roles.join(", "));
  cell(tr, "status", node.status);
  cell(tr, "num heartbeat", ago(node.heartbeat_at));
  cell(tr, "kinds", node.kinds.join(", "));
  cell(tr, "caps", node.capabilities.join(", "));
  const running = cell(tr, "running", node.running_jobs.length ? "" : "—");
  for (const job of node.running_jobs) {
    const div = document.createElement("div");
    div.className = "job";
    div.textContent = `${job.kind} ${job.video_id || ""} `;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.progress || 0;
    div.append(bar);
    running.append(div);
  }
  return tr;
}

let pending = null;
async function load() {
  clearTimeout(pending);
  try {
    const { items } = await (await api("/api/nodes")).json();
    $("#nodes").replaceChildren(...items.map(row));
    $("#msg").textContent = items.length ? "" : "No nodes have registered.";
  } catch (e) {
    $("#msg").textContent = e.message.startsWith("404")
      ? "Only administrators see the nodes."
      : `Cannot load the nodes: ${e.message}`;
  }
  pending = setTimeout(load, REFRESH_MS);
}

if (!(await ready)) {
  $("#msg").textContent = "Sign in to see the nodes.";
} else {
  load();
  follow("kind=job.*", (e) => {
    if (e.kind !== "job.progress") load();
  }, (state) => {
    $("#conn").textContent = state === "live" ? "live" : "reconnecting…";
    $("#conn").className = state;
  });
}
