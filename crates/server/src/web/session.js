// Who this browser is. Signing in (the form this module puts in the page header, or a one-time
// login link) gives an HttpOnly session cookie the page never sees; GET /api/me says who is
// signed in and hands out the CSRF token that api() sends with every state-changing request.
// A page opened from a share link (/s/… redirects to ?share=…) carries the link's token in its
// address and sends it with every request instead.

export let me = null;
export const shareToken = new URLSearchParams(location.search).get("share") || "";

// The URL of a file for elements that fetch by themselves (<video src>, <img>, downloads): the
// cookie goes along by itself; a share link's token has to be in the address.
export function mediaUrl(path) {
  if (!path || !shareToken) return path;
  return `${path}${path.includes("?") ? "&" : "?"}share=${encodeURIComponent(shareToken)}`;
}

// Headers every API request needs: the CSRF token for state changes, the share token.
export function authHeaders(method = "GET") {
  const h = {};
  if (shareToken) h["X-Share-Token"] = shareToken;
  if (me && me.csrf_token && !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase())) h["X-CSRF-Token"] = me.csrf_token;
  return h;
}

export async function api(path, options = {}) {
  const method = options.method || "GET";
  const res = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { ...authHeaders(method), ...(options.headers || {}) },
  });
  if (!res.ok) throw new Error(`${res.status} ${(await res.json().catch(() => ({}))).error || res.statusText}`);
  return res;
}

async function askWhoIsSignedIn() {
  const res = await fetch("/api/me", { credentials: "same-origin", cache: "no-store" });
  me = res.ok ? await res.json() : null;
  return me;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

// The header's corner: a sign-in form, or who is signed in with a sign-out button (and, after a
// login link, a prompt to choose a password).
function render() {
  const slot = document.querySelector("#session") || document.querySelector("header").appendChild(el("span", { id: "session" }));
  slot.replaceChildren();
  if (!me) {
    if (shareToken) return slot.append(el("span", { className: "who" }, "Shared with you"));
    const name = el("input", { name: "name", placeholder: "name", autocomplete: "username", required: true });
    const password = el("input", { name: "password", type: "password", placeholder: "password", autocomplete: "current-password", required: true });
    const error = el("span", { className: "error" });
    const form = el("form", { id: "signin" }, name, password, el("button", {}, "Sign in"), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const res = await fetch("/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: name.value.trim(), password: password.value }),
      });
      if (res.ok) return location.reload();
      error.textContent = res.status === 429 ? "Too many attempts; wait a while." : "Wrong name or password.";
    });
    return slot.append(form);
  }
  const out = el("button", { id: "signout" }, "Sign out");
  out.addEventListener("click", async () => {
    await api("/api/logout", { method: "POST" }).catch(() => {});
    location.reload();
  });
  slot.append(el("span", { className: "who" }, me.name));
  if (me.is_admin) slot.append(" ", el("a", { href: "/admin" }, "Admin"));
  slot.append(" ", out);
  if (!me.has_password && me.auth === "session") {
    const pw = el("input", { type: "password", placeholder: "choose a password", autocomplete: "new-password", minLength: 8, required: true });
    const note = el("span", { className: "error" });
    const form = el("form", { id: "choose-password" }, pw, el("button", {}, "Set password"), note);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("/api/me/password", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ new: pw.value }) });
        me.has_password = true;
        render();
      } catch (err) { note.textContent = err.message; }
    });
    slot.append(form);
  }
}

// Resolves once the page knows who is signed in (me is then set, or null).
export const ready = askWhoIsSignedIn().catch(() => null).then((m) => { render(); return m; });

// Every media file the player and upload pages show (a video, a poster, a drawing, an export)
// gets its URL here: with the session cookie (or the share link's token in the address) the
// browser fetches and streams it by itself, with ranges.
export function mediaSrc(path) {
  return Promise.resolve(mediaUrl(path));
}

// Who is signed in ({ id, name, is_admin, … }), or null.
export function whoami() {
  return ready;
}
