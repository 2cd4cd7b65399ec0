// The live job queue: every job the caller may see, with state, progress, speed, ETA and error,
// and buttons to cancel or retry. It follows the event stream, so it changes as the jobs do and
// catches up by itself after a dropped connection or a server restart.
import { api, ready } from "./session.js";
import { follow } from "./live.js";

const $ = (sel) => document.querySelector(sel);
const jobs = new Map();

function eta(s) {
  if (s == null || !isFinite(s)) return "";
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m ? `${m} min ${sec} s` : `${sec} s`;
}

function row(job) {
  let tr = document.querySelector(`tr[data-id="${job.id}"]`);
  if (!tr) {
    tr = document.createElement("tr");
    tr.dataset.id = job.id;
    tr.innerHTML = `<td class="video"></td><td class="kind"></td><td class="state"></td><td class="progress"><progress max="1"></progress></td><td class="num speed"></td><td class="num eta"></td><td class="num attempts"></td><td class="actions"></td>`;
    $("#jobs").prepend(tr);
  }
  tr.className = `state-${job.state}`;
  tr.querySelector(".video").textContent = job.video_title || job.video_id || "";
  tr.querySelector(".kind").textContent = job.kind;
  const state = tr.querySelector(".state");
  state.textContent = job.cancel_requested && job.state === "running" ? "cancelling" : job.state;
  if (job.error && job.state !== "done") {
    const err = document.createElement("div");
    err.className = "error";
    err.textContent = job.error;
    state.append(err);
  }
  const bar = tr.querySelector("progress");
  bar.value = job.state === "done" ? 1 : job.progress || 0;
  tr.querySelector(".speed").textContent = job.state === "running" && job.speed ? `${job.speed.toFixed(2)}×` : "";
  tr.querySelector(".eta").textContent = job.state === "running" ? eta(job.eta_s) : "";
  tr.querySelector(".attempts").textContent = `${job.attempts}/${job.max_attempts}`;
  const actions = tr.querySelector(".actions");
  actions.replaceChildren();
  const button = (label, cls, path) => {
    const b = document.createElement("button");
    b.textContent = label;
    b.className = cls;
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { show(await (await api(path, { method: "POST" })).json()); }
      catch (e) { $("#msg").textContent = e.message; }
    });
    actions.append(b);
  };
  if (job.state === "queued" || job.state === "running") button("Cancel", "cancel", `/api/jobs/${job.id}/cancel`);
  if (job.state === "failed" || job.state === "cancelled") button("Retry", "retry", `/api/jobs/${job.id}/retry`);
}

function show(job) {
  jobs.set(job.id, job);
  row(job);
}

async function load() {
  try {
    const { items } = await (await api("/api/jobs?limit=200")).json();
    [...items].reverse().forEach(show);
    $("#msg").textContent = items.length ? "" : "No jobs yet.";
  } catch (e) {
    $("#msg").textContent = `Cannot load the jobs: ${e.message}`;
  }
}

// Progress events carry the numbers; every other job event is followed by a fresh look at the
// job (its attempts, error, and the state the server settled on).
async function onEvent(e) {
  if (!e.job_id) return;
  const known = jobs.get(e.job_id);
  if (e.kind === "job.progress" && known) {
    // A late tick never brings a finished job back to life.
    if (!["queued", "running"].includes(known.state)) return;
    show({ ...known, state: "running", progress: e.data.progress, speed: e.data.speed, eta_s: e.data.eta_s });
    return;
  }
  try {
    show(await (await api(`/api/jobs/${e.job_id}`)).json());
    $("#msg").textContent = "";
  } catch (err) { /* a job we may not see any more */ }
}

if (!(await ready)) {
  $("#msg").textContent = "Sign in to see the jobs.";
} else {
  load();
  follow("kind=job.*", onEvent, (state) => {
    $("#conn").textContent = state === "live" ? "live" : "reconnecting…";
    $("#conn").className = state;
    // After a reconnect the stream replays what was missed; a fresh list also catches jobs
    // whose events were pruned meanwhile.
    if (state === "live" && jobs.size) load();
  });
}
