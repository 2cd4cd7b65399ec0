// The timeline under the player: where the playhead is, a marker for every time-coded comment,
// and seeking by clicking or dragging anywhere on it.

export function createTimeline(el, { onSeek, onMarker }) {
  el.classList.add("timeline");
  el.innerHTML = `<div class="track"></div><div class="played"></div><div class="head"></div><div class="markers"></div>`;
  const played = el.querySelector(".played"), head = el.querySelector(".head");
  const markers = el.querySelector(".markers");
  let duration = 0;

  const timeAt = (clientX) => {
    const r = el.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - r.left) / r.width)) * duration;
  };
  let dragging = false;
  el.addEventListener("pointerdown", (e) => {
    if (e.target.classList.contains("marker") || !duration) return;
    dragging = true;
    el.setPointerCapture(e.pointerId);
    onSeek(timeAt(e.clientX));
  });
  el.addEventListener("pointermove", (e) => { if (dragging) onSeek(timeAt(e.clientX)); });
  const stop = () => { dragging = false; };
  el.addEventListener("pointerup", stop);
  el.addEventListener("pointercancel", stop);

  return {
    setDuration(d) { duration = d || 0; },
    setTime(t) {
      const pct = duration ? `${Math.min(100, (t / duration) * 100)}%` : "0%";
      played.style.width = pct;
      head.style.left = pct;
    },
    // items: [{ id, t, label }]
    setMarkers(items) {
      markers.replaceChildren(...items.filter((m) => duration && m.t != null).map((m) => {
        const b = document.createElement("button");
        b.className = "marker";
        b.dataset.id = m.id;
        b.title = m.label;
        b.style.left = `${Math.min(100, (m.t / duration) * 100)}%`;
        b.addEventListener("click", (e) => { e.stopPropagation(); onMarker(m.id); });
        return b;
      }));
    },
    setActive(id) {
      for (const b of markers.children) b.classList.toggle("active", b.dataset.id === id);
    },
  };
}
