// Who this browser is: the API token kept in localStorage, and fetch with it. A link of the
// form /#token=… (printed by the server on first start) signs the browser in; the fragment never
// reaches the server or its logs, and is removed from the address bar.
export let token = localStorage.getItem("dailies.token") || "";
const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromLink) {
  token = fromLink;
  localStorage.setItem("dailies.token", token);
  history.replaceState(null, "", location.pathname);
}

export function setToken(t) {
  token = t;
  localStorage.setItem("dailies.token", t);
}

export async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${res.status} ${(await res.json().catch(() => ({}))).error || res.statusText}`);
  return res;
}

// Every media file the page shows (a video, a poster, a sprite sheet, a drawing, an export) gets
// its URL here and nowhere else. With a bearer token the file is fetched with it and shown from
// an object URL (kept for the page's life, so each file is fetched once); with a cookie session
// this becomes `return path`.
const mediaUrls = new Map();
export function mediaSrc(path) {
  if (!mediaUrls.has(path)) {
    const url = api(path).then((r) => r.blob()).then((b) => URL.createObjectURL(b));
    url.catch(() => mediaUrls.delete(path));
    mediaUrls.set(path, url);
  }
  return mediaUrls.get(path);
}

// Who is signed in: { id, name, is_admin }, asked once.
let me = null;
export function whoami() {
  if (!me) {
    me = api("/api/me").then((r) => r.json());
    me.catch(() => { me = null; });
  }
  return me;
}
