// A small tus 1.0 client for the browser: create an upload, send the file in PATCH requests
// whose size follows the connection's speed, pause (the request in flight is abandoned; the
// server keeps what arrived), and resume from the offset the server reports with HEAD.
// Requests go through api() like every other call, so they carry the session.
import { api } from "./session.js";

const TUS = { "Tus-Resumable": "1.0.0" };
const MIN_CHUNK = 256 * 1024;
const MAX_CHUNK = 64 * 1024 * 1024;
// Aim for requests of about this long: progress moves often, overhead stays small.
const TARGET_MS = 2000;
const RETRIES = 5;

// The HTTP status of an error thrown by api() ("404 no such upload"), or 0 for a network error.
export const statusOf = (e) => parseInt(e && e.message, 10) || 0;

// tus Upload-Metadata: comma-separated "key base64(value)".
export function encodeMetadata(map) {
  const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  return Object.entries(map).filter(([, v]) => v != null).map(([k, v]) => `${k} ${b64(String(v))}`).join(",");
}

// Thrown when a stored upload URL is no longer usable (expired, removed): start afresh.
export class UploadGone extends Error {}

export class TusUpload {
  // options: { url (to resume), endpoint, metadata, onProgress(offset, size, bytesPerSecond) }
  constructor(file, options = {}) {
    this.file = file;
    this.url = options.url || null;
    this.endpoint = options.endpoint || "/api/uploads/";
    this.metadata = options.metadata || { filename: file.name };
    this.onProgress = options.onProgress || (() => {});
    this.offset = 0;
    this.videoId = null;
    this.chunk = MIN_CHUNK;
    this.samples = [];
    this.controller = null;
    this.paused = false;
  }

  // Bytes per second over the last few seconds.
  speed() {
    const s = this.samples;
    if (s.length < 2) return 0;
    const [t0, o0] = s[0], [t1, o1] = s[s.length - 1];
    return t1 > t0 ? ((o1 - o0) * 1000) / (t1 - t0) : 0;
  }

  progressed() {
    const now = performance.now();
    this.samples.push([now, this.offset]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
    this.onProgress(this.offset, this.file.size, this.speed());
  }

  async create() {
    const res = await api(this.endpoint, {
      method: "POST",
      headers: { ...TUS, "Upload-Length": String(this.file.size), "Upload-Metadata": encodeMetadata(this.metadata) },
    });
    const location = res.headers.get("Location");
    if (!location) throw new Error("the server did not say where the upload is");
    this.url = new URL(location, window.location.href).pathname;
    this.offset = 0;
  }

  // Where the server is: its offset, and the video when the upload is already complete.
  async head() {
    let res;
    try {
      res = await api(this.url, { method: "HEAD", headers: TUS, cache: "no-store" });
    } catch (e) {
      if ([404, 410, 403].includes(statusOf(e))) throw new UploadGone("this upload is gone on the server");
      throw e;
    }
    const length = Number(res.headers.get("Upload-Length"));
    if (length && length !== this.file.size) throw new UploadGone("the stored upload is for another file");
    this.offset = Number(res.headers.get("Upload-Offset")) || 0;
    this.videoId = res.headers.get("dailies-video-id");
  }

  // Runs until the file is sent (returns true) or paused (returns false). Throws on errors
  // that retrying does not cure.
  async start() {
    this.paused = false;
    this.samples = [];
    let failures = 0;
    if (this.url) await this.head();
    else await this.create();
    this.progressed();
    while (this.offset < this.file.size && !this.videoId) {
      if (this.paused) return false;
      const end = Math.min(this.file.size, this.offset + this.chunk);
      this.controller = new AbortController();
      const began = performance.now();
      try {
        const res = await api(this.url, {
          method: "PATCH",
          headers: { ...TUS, "Upload-Offset": String(this.offset), "Content-Type": "application/offset+octet-stream" },
          body: this.file.slice(this.offset, end),
          signal: this.controller.signal,
        });
        this.offset = Number(res.headers.get("Upload-Offset"));
        this.videoId = res.headers.get("dailies-video-id");
        failures = 0;
        const took = Math.max(1, performance.now() - began);
        this.chunk = Math.round(Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, (this.chunk * TARGET_MS) / took)));
        this.progressed();
      } catch (e) {
        if (this.paused || e.name === "AbortError") return false;
        const status = statusOf(e);
        // 409: the server's offset differs; 423: an abandoned request still holds the upload;
        // 0, 5xx: the network or the server hiccuped. Ask where things are and go on.
        const retryable = status === 0 || status === 409 || status === 423 || status >= 500;
        if (!retryable || status === 507 || ++failures > RETRIES) throw e;
        await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** failures)));
        await this.head();
      } finally {
        this.controller = null;
      }
    }
    // The last PATCH names the video; a resumed, already complete upload is asked for it.
    if (!this.videoId) await this.head();
    this.progressed();
    return true;
  }

  pause() {
    this.paused = true;
    if (this.controller) this.controller.abort();
  }
}
