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
