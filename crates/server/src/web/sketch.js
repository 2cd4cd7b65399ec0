// Drawing on the paused frame: a canvas laid over the video at the frame's own size (so a
// drawing lines up with the picture whatever the window's size), strokes in a few colours,
// undo and clear. The result is a PNG data URL sent with the comment.

export const COLOURS = ["#ff3b30", "#ffcc00", "#34c759", "#0a84ff", "#ffffff"];

export function createSketch(canvas) {
  const ctx = canvas.getContext("2d");
  const strokes = [];
  let colour = COLOURS[0];
  let current = null;
  let enabled = false;

  const width = () => Math.max(2, Math.round(canvas.width / 250));
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
  };
  const paint = (s) => {
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = s.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    if (s.points.length === 1) {
      ctx.beginPath();
      ctx.arc(s.points[0][0], s.points[0][1], s.width / 2, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(...s.points[0]);
    for (const p of s.points.slice(1)) ctx.lineTo(...p);
    ctx.stroke();
  };
  const redraw = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    strokes.forEach(paint);
  };

  canvas.addEventListener("pointerdown", (e) => {
    if (!enabled) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    current = { colour, width: width(), points: [point(e)] };
    strokes.push(current);
    paint(current);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!current) return;
    current.points.push(point(e));
    redraw();
  });
  const end = () => { current = null; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  return {
    // The canvas takes the frame's size; strokes made so far are kept only if it did not change.
    size(w, h) {
      if (canvas.width === w && canvas.height === h) return;
      canvas.width = w;
      canvas.height = h;
      strokes.length = 0;
    },
    enable(on) {
      enabled = on;
      canvas.classList.toggle("on", on);
    },
    get enabled() { return enabled; },
    setColour(c) { colour = c; },
    undo() { strokes.pop(); redraw(); },
    clear() { strokes.length = 0; redraw(); },
    isEmpty() { return strokes.length === 0; },
    toDataURL() { return canvas.toDataURL("image/png"); },
  };
}
