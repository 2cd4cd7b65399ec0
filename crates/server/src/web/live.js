// Live events from /api/events (Server-Sent Events), read with fetch so a share link's token
// travels in a header, not in the URL (the session cookie goes along by itself). The stream resumes after the last event it saw (Last-Event-ID) when
// the connection drops or the server restarts, so nothing is missed.
import { authHeaders } from "./session.js";

const RETRY_MS = 2000;

// follow("kind=job.*", (event) => …, (state) => …) runs until the page closes; `state` is
// "live" or "reconnecting".
export function follow(query, onEvent, onState = () => {}) {
  let last = null;
  const connect = async () => {
    try {
      const headers = { ...authHeaders(), Accept: "text/event-stream" };
      if (last !== null) headers["Last-Event-ID"] = String(last);
      const res = await fetch(`/api/events${query ? `?${query}` : ""}`, { headers, cache: "no-store", credentials: "same-origin" });
      if (!res.ok || !res.body) throw new Error(`${res.status}`);
      onState("live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id = null, data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id:")) id = Number(line.slice(3).trim());
            else if (line.startsWith("data:")) data += line.slice(5).trimStart();
          }
          if (id === null || !data) continue;
          last = id;
          try { onEvent(JSON.parse(data)); } catch (e) { console.error(e); }
        }
      }
    } catch (e) {
      // Dropped or refused: try again below.
    }
    onState("reconnecting");
    setTimeout(connect, RETRY_MS);
  };
  connect();
}
