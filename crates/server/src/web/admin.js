// The admin page: users (list, add, make or unmake admin, delete) for administrators, and the
// signed-in person's own API tokens (list, create — the secret is shown once — and revoke) for
// everyone signed in.
import { api, ready } from "./session.js";

const $ = (sel) => document.querySelector(sel);
const json = (body) => ({ headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const when = (ms) => (ms ? new Date(ms).toLocaleString() : "—");

function button(text, onClick, className = "") {
  const b = document.createElement("button");
  b.textContent = text;
  b.className = className;
  b.addEventListener("click", async () => {
    try { await onClick(); $("#msg").textContent = ""; } catch (e) { $("#msg").textContent = e.message; }
  });
  return b;
}

async function loadUsers(me) {
  const { items } = await (await api("/api/users")).json();
  $("#users").replaceChildren(...items.map((u) => {
    const tr = document.createElement("tr");
    tr.dataset.name = u.name;
    tr.innerHTML = `<td class="name"></td><td class="admin"></td><td class="password"></td><td class="actions"></td>`;
    tr.querySelector(".name").textContent = u.name;
    tr.querySelector(".admin").textContent = u.is_admin ? "yes" : "no";
    tr.querySelector(".password").textContent = u.has_password ? "set" : "none";
    const actions = tr.querySelector(".actions");
    actions.append(button(u.is_admin ? "Remove admin" : "Make admin", async () => {
      await api(`/api/users/${u.id}`, { method: "PATCH", ...json({ is_admin: !u.is_admin }) });
      await loadUsers(me);
    }));
    if (u.id !== me.id) {
      actions.append(" ", button("Delete", async () => {
        if (!confirm(`Delete ${u.name}?`)) return;
        await api(`/api/users/${u.id}`, { method: "DELETE" });
        await loadUsers(me);
      }, "danger"));
    }
    return tr;
  }));
}

async function loadTokens() {
  const { items } = await (await api("/api/tokens")).json();
  $("#tokens").replaceChildren(...items.map((t) => {
    const tr = document.createElement("tr");
    tr.dataset.id = t.id;
    tr.innerHTML = `<td class="label"></td><td></td><td></td><td class="actions"></td>`;
    tr.children[0].textContent = t.label;
    tr.children[1].textContent = when(t.created_at);
    tr.children[2].textContent = when(t.last_used_at);
    tr.querySelector(".actions").append(button("Revoke", async () => {
      await api(`/api/tokens/${t.id}`, { method: "DELETE" });
      await loadTokens();
    }, "danger"));
    return tr;
  }));
}

function onSubmit(form, action) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = form.querySelector(".error");
    try { await action(new FormData(form)); error.textContent = ""; form.reset(); } catch (err) { error.textContent = err.message; }
  });
}

const me = await ready;
if (!me) {
  $("#msg").textContent = "Sign in to manage your tokens.";
} else {
  $("#tokens-section").hidden = false;
  onSubmit($("#add-token"), async (data) => {
    const made = await (await api("/api/tokens", { method: "POST", ...json({ label: data.get("label") }) })).json();
    $("#new-token").hidden = false;
    $("#new-token code").textContent = made.token;
    await loadTokens();
  });
  await loadTokens();
  if (me.is_admin) {
    $("#users-section").hidden = false;
    onSubmit($("#add-user"), async (data) => {
      const body = { name: data.get("name"), is_admin: data.get("is_admin") === "on" };
      if (data.get("password")) body.password = data.get("password");
      await api("/api/users", { method: "POST", ...json(body) });
      await loadUsers(me);
    });
    await loadUsers(me);
  }
}
