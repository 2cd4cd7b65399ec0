// Times as editors read them. The server keeps seconds on the video's frame grid; the page shows
// SMPTE-style HH:MM:SS:FF (non-drop) with the video's own frame rate.

export function frameDuration(fps) {
  return fps > 0 ? 1 / fps : 1 / 25;
}

// The frame a time falls on (a hair of tolerance, so 0.04 s at 25 fps is frame 1, not 0).
export function frameOf(seconds, fps) {
  return Math.floor(seconds * (fps > 0 ? fps : 25) + 1e-6);
}

export function timecode(seconds, fps) {
  if (seconds == null || !isFinite(seconds)) return "--:--:--:--";
  const rate = Math.round(fps > 0 ? fps : 25);
  const frames = frameOf(Math.max(0, seconds), fps);
  const ff = frames % rate, total = Math.floor(frames / rate);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}:${pad(ff)}`;
}

// A duration as people say it: 1:05, 1:02:03.
export function clock(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
