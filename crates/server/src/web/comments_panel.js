// The comment list beside the player: threads in reading order (by time in the video, comments
// on the whole video last), replies under the comment they answer, reply, edit and delete in
// place. Comments arrive from the API and from the event stream alike (`upsert`), so the list
// looks the same whoever wrote them. Each comment keeps its element between updates, so a
// reply or an edit being typed survives other people's comments arriving.
import { api } from "./session.js";
import { timecode } from "./timecode.js";

export function createCommentsPanel(list, { videoId, fps, me, ownerName, onSeek, onChange, onError }) {
  const comments = new Map();
  const elements = new Map();
  let active = null;

  const mayEdit = (c) => !c.deleted && me && c.author && c.author.id === me.id;
  const mayDelete = (c) => !c.deleted && me && (mayEdit(c) || me.is_admin || me.name === ownerName);
  const order = (a, b) => {
    const ta = a.timecode_s ?? Infinity, tb = b.timecode_s ?? Infinity;
    return ta - tb || a.created_at - b.created_at || (a.id < b.id ? -1 : 1);
  };

  async function call(path, options) {
    try {
      return await (await api(path, options)).json().catch(() => null);
    } catch (e) {
      onError(e.message);
      throw e;
    }
  }

  function inlineEditor(li, initial, label, onSubmit) {
    const old = li.querySelector(":scope > form");
    if (old) { old.querySelector("textarea").focus(); return; }
    const form = document.createElement("form");
    form.className = "comment-form";
    form.innerHTML = `<textarea></textarea><div class="row"><span class="grow"></span><button type="button" class="quiet cancel">Cancel</button><button class="save"></button></div>`;
    const area = form.querySelector("textarea");
    area.value = initial;
    form.querySelector(".save").textContent = label;
    form.querySelector(".cancel").addEventListener("click", () => form.remove());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!area.value.trim()) return;
      form.querySelector(".save").disabled = true;
      try {
        await onSubmit(area.value);
        form.remove();
      } catch (err) {
        form.querySelector(".save").disabled = false;
      }
    });
    li.querySelector(":scope > .actions").after(form);
    area.focus();
  }

  function element(c) {
    let li = elements.get(c.id);
    if (!li) {
      li = document.createElement("li");
      li.className = "comment";
      li.dataset.id = c.id;
      li.innerHTML = `<div class="who"></div><div class="text"></div><div class="actions"><button type="button" class="quiet reply">Reply</button><button type="button" class="quiet edit">Edit</button><button type="button" class="quiet delete">Delete</button></div>`;
      li.addEventListener("click", (e) => {
        if (e.target.closest("button, textarea, form, a")) return;
        if (e.target.closest(".comment") !== li) return;
        const cur = comments.get(c.id);
        if (cur) onSeek(cur);
      });
      li.querySelector(".reply").addEventListener("click", () =>
        inlineEditor(li, "", "Reply", async (text) => {
          upsert(await call(`/api/videos/${videoId}/comments`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ text, parent_id: c.id }),
          }));
        }));
      li.querySelector(".edit").addEventListener("click", () =>
        inlineEditor(li, comments.get(c.id)?.text || "", "Save", async (text) => {
          upsert(await call(`/api/comments/${c.id}`, {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ text }),
          }));
        }));
      // Two clicks delete: the first asks, the second does it (no dialog box in the way).
      const del = li.querySelector(".delete");
      del.addEventListener("click", async () => {
        if (!del.classList.contains("danger")) {
          del.classList.add("danger");
          del.textContent = "Delete?";
          setTimeout(() => { del.classList.remove("danger"); del.textContent = "Delete"; }, 4000);
          return;
        }
        del.disabled = true;
        try {
          await call(`/api/comments/${c.id}`, { method: "DELETE" });
          const cur = comments.get(c.id);
          const answered = [...comments.values()].some((r) => r.parent_id === c.id);
          if (answered) upsert({ ...cur, deleted: true, text: null, drawing_url: null });
          else remove(c.id);
        } catch (e) {
          del.disabled = false;
        }
      });
      elements.set(c.id, li);
    }
    const who = li.querySelector(".who");
    who.replaceChildren();
    if (c.timecode_s != null) {
      const t = document.createElement("span");
      t.className = "time";
      t.textContent = timecode(c.timecode_s, fps);
      who.append(t);
    }
    const name = document.createElement("b");
    name.textContent = c.author ? c.author.name : "someone";
    const when = document.createElement("span");
    when.textContent = new Date(c.created_at).toLocaleString();
    who.append(name, when);
    if (c.edited_at && !c.deleted) who.append("(edited)");
    if (c.drawing_url) {
      const d = document.createElement("span");
      d.className = "has-drawing";
      d.textContent = "✎ drawing";
      who.append(d);
    }
    li.classList.toggle("deleted", !!c.deleted);
    li.querySelector(":scope > .text").textContent = c.deleted ? "(deleted)" : c.text;
    li.querySelector(":scope > .actions > .edit").hidden = !mayEdit(c);
    li.querySelector(":scope > .actions > .delete").hidden = !mayDelete(c);
    li.querySelector(":scope > .actions > .reply").hidden = !!c.deleted;
    return li;
  }

  function render() {
    const all = [...comments.values()];
    const threads = all.filter((c) => !c.parent_id || !comments.has(c.parent_id)).sort(order);
    const seen = new Set();
    for (const c of threads) {
      const replies = all.filter((r) => r.parent_id === c.id).sort((a, b) => a.created_at - b.created_at);
      // A deleted comment nobody answers has nothing left to show.
      if (c.deleted && !replies.length) continue;
      const li = element(c);
      seen.add(c.id);
      list.append(li);
      let box = li.querySelector(":scope > .replies");
      if (replies.length && !box) {
        box = document.createElement("ul");
        box.className = "replies";
        li.append(box);
      }
      for (const r of replies) {
        if (r.deleted) continue;
        seen.add(r.id);
        box.append(element(r));
      }
      if (box && !box.children.length) box.remove();
    }
    for (const [id, li] of elements) {
      if (!seen.has(id)) { li.remove(); elements.delete(id); }
    }
    if (active) setActive(active, false);
    onChange([...comments.values()].filter((c) => !c.deleted));
  }

  function upsert(c) {
    if (!c || !c.id) return;
    comments.set(c.id, c);
    render();
  }

  function remove(id) {
    comments.delete(id);
    render();
  }

  function setActive(id, scroll = true) {
    active = id;
    for (const [cid, li] of elements) li.classList.toggle("active", cid === id);
    const li = elements.get(id);
    if (li && scroll) li.scrollIntoView({ block: "nearest" });
  }

  return {
    async load() {
      const { items } = await (await api(`/api/videos/${videoId}/comments`)).json();
      comments.clear();
      for (const c of items) comments.set(c.id, c);
      render();
    },
    upsert,
    remove,
    setActive,
    get(id) { return comments.get(id); },
    all() { return [...comments.values()]; },
  };
}
