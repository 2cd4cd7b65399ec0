// The share-link dialog of the player page (the video's owner and administrators): make a link
// that lets anyone holding it watch, or watch and comment, optionally for a limited time; copy
// it; see the links given so far and revoke any of them. A link's secret is shown once, when it
// is made: the server keeps only its hash.
import { api } from "./session.js";

const EXPIRIES = [
  ["never", null],
  ["1 day", 86400],
  ["7 days", 7 * 86400],
  ["30 days", 30 * 86400],
];

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function when(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function createShareDialog(videoId) {
  const access = el("select", { id: "share-access" },
    el("option", { value: "view", textContent: "can watch" }),
    el("option", { value: "comment", textContent: "can watch and comment" }));
  const label = el("input", { id: "share-label", placeholder: "Who it is for (optional)", maxLength: 100 });
  const expiry = el("select", { id: "share-expiry" },
    ...EXPIRIES.map(([text], i) => el("option", { value: String(i), textContent: `expires: ${text}` })));
  const create = el("button", { id: "share-create", textContent: "Make a link" });
  const made = el("input", { id: "share-url", readOnly: true, hidden: true });
  const copy = el("button", { type: "button", className: "quiet", textContent: "Copy", hidden: true });
  const msg = el("div", { className: "error", id: "share-msg" });
  const list = el("ul", { className: "shares", id: "share-list" });
  const close = el("button", { type: "button", className: "quiet", textContent: "Close" });
  const form = el("form", { method: "dialog", className: "share-form" },
    el("div", { className: "row" }, el("span", { textContent: "Anyone with the link" }), access),
    el("div", { className: "row" }, label, expiry, create),
    el("div", { className: "row" }, made, copy),
    msg);
  const dialog = el("dialog", { id: "share-dialog", className: "share-dialog" },
    el("h3", { textContent: "Share this video" }), form,
    el("h4", { textContent: "Links given" }), list,
    el("div", { className: "row end" }, close));
  document.body.append(dialog);

  async function refresh() {
    const { items } = await (await api(`/api/videos/${videoId}/shares`)).json();
    const live = items.filter((s) => !s.revoked_at);
    list.replaceChildren(...(live.length ? live.map(item) : [el("li", { className: "muted", textContent: "No links yet." })]));
  }

  function item(s) {
    const what = s.access === "comment" ? "watch and comment" : "watch";
    const until = s.expires_at ? `until ${when(s.expires_at)}` : "no end date";
    const revoke = el("button", { type: "button", className: "quiet danger-text", textContent: "Revoke" });
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await api(`/api/shares/${s.id}`, { method: "DELETE" });
        await refresh();
      } catch (e) {
        msg.textContent = e.message;
        revoke.disabled = false;
      }
    });
    const li = el("li", {}, el("span", { textContent: `${s.label || "Unnamed link"} · ${what} · ${until}` }), revoke);
    li.dataset.id = s.id;
    return li;
  }

  create.addEventListener("click", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    create.disabled = true;
    try {
      const body = { access: access.value, label: label.value.trim() };
      const seconds = EXPIRIES[Number(expiry.value)][1];
      if (seconds) body.expires_in_s = seconds;
      const share = await (await api(`/api/videos/${videoId}/shares`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      })).json();
      made.value = share.url;
      made.hidden = copy.hidden = false;
      made.select();
      label.value = "";
      await refresh();
    } catch (err) {
      msg.textContent = err.message;
    } finally {
      create.disabled = false;
    }
  });
  copy.addEventListener("click", async () => {
    made.select();
    try { await navigator.clipboard.writeText(made.value); copy.textContent = "Copied"; }
    catch { document.execCommand("copy"); copy.textContent = "Copied"; }
  });
  close.addEventListener("click", () => dialog.close());

  return {
    async open() {
      made.hidden = copy.hidden = true;
      copy.textContent = "Copy";
      msg.textContent = "";
      dialog.showModal();
      try { await refresh(); } catch (e) { msg.textContent = `Cannot list the links: ${e.message}`; }
    },
  };
}
