// The collection map (/map/): every document's place from /api/map, drawn on one canvas.
// Points are written straight into an ImageData buffer (one typed-array store per pixel), so a
// frame of 43,000 points costs a few milliseconds (benches/map.sh); the hover ring, the focused
// document and a placed draft are drawn over it with the canvas API. Hover finds the nearest
// point through a uniform grid. Zoom: wheel, pinch, the buttons or + and -; pan: drag or the
// arrow keys; click a point to open its similar_to page.
"use strict";

(function () {
  const root = document.getElementById("map");
  if (!root) return;
  const canvas = root.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("map-tip");
  const status = document.getElementById("map-status");
  const legend = document.getElementById("map-legend");
  const placeForm = document.getElementById("map-place");
  const placedBox = document.getElementById("map-placed");

  // Twenty colours that stay apart on a light background; further departments share grey.
  const PALETTE = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363", "#a55194",
  ];
  const OTHER = "#9a9a9a";
  const BACKGROUND = [255, 253, 248];

  let data = null; // {n, id, x, y, dept, year, title, departments, counts}
  let rgba = null; // one Uint32 colour per department (little-endian ABGR)
  let hidden = null; // Uint8Array: department hidden?
  let out = null; // Uint8Array: outside the year filter (not drawn)?
  let dim = null; // Uint8Array: not matching the search (drawn pale)?
  const DIM = packed("#d9d6cf");
  let grid = null; // {size, start, items}
  const view = { k: 1, tx: 0, ty: 0 }; // screen (CSS px) = data * base * k + t
  let base = 1;
  let width = 0, height = 0, dpr = 1;
  let image = null, pixels = null;
  let hover = -1, focus = -1, placed = null;
  let scheduled = false;

  // Departments in /api/map's order (largest first); documents with none are grey.
  function colourOf(d) {
    if (data && data.departments[d] === "No department") return OTHER;
    return d < PALETTE.length ? PALETTE[d] : OTHER;
  }

  function packed(hex) {
    const n = parseInt(hex.slice(1), 16);
    return (255 << 24) | ((n & 255) << 16) | (((n >> 8) & 255) << 8) | (n >> 16);
  }

  function resize() {
    const rect = canvas.getBoundingClientRect();
    dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(rect.width)), h = Math.max(1, Math.round(rect.height));
    if (w === width && h === height && image && image.width === Math.round(w * dpr)) return false;
    const first = width === 0;
    // Keep the centre of the view where it was.
    const cx = (width / 2 - view.tx) / (base * view.k), cy = (height / 2 - view.ty) / (base * view.k);
    width = w; height = h;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    image = ctx.createImageData(canvas.width, canvas.height);
    pixels = new Uint32Array(image.data.buffer);
    base = Math.min(w, h) * 0.92;
    if (first) reset(); else { view.tx = w / 2 - cx * base * view.k; view.ty = h / 2 - cy * base * view.k; }
    return true;
  }

  function reset() {
    view.k = 1;
    view.tx = (width - base) / 2;
    view.ty = (height - base) / 2;
  }

  function toScreen(i) {
    const s = base * view.k;
    return [data.x[i] * s + view.tx, data.y[i] * s + view.ty];
  }

  // Draws the whole frame now; returns the time it took in ms.
  function draw() {
    const t0 = performance.now();
    if (!data || !image) return 0;
    const W = canvas.width, H = canvas.height;
    const bg = (255 << 24) | (BACKGROUND[2] << 16) | (BACKGROUND[1] << 8) | BACKGROUND[0];
    pixels.fill(bg);
    const s = base * view.k * dpr, tx = view.tx * dpr, ty = view.ty * dpr;
    const r = dotSize();
    const half = r >> 1;
    const offsets = stamp(r, W);
    const m = offsets.length;
    const xs = data.x, ys = data.y, ds = data.dept, n = data.n;
    for (let i = 0; i < n; i++) {
      const d = ds[i];
      if (hidden[d] || out[i]) continue;
      const px = (xs[i] * s + tx - half) | 0, py = (ys[i] * s + ty - half) | 0;
      if (px < 0 || py < 0 || px + r > W || py + r > H) continue;
      const c = dim[i] ? DIM : rgba[d];
      const o = py * W + px;
      for (let j = 0; j < m; j++) pixels[o + offsets[j]] = c;
    }
    ctx.putImageData(image, 0, 0);
    ctx.save();
    ctx.scale(dpr, dpr);
    drawLabels();
    const dot = r / dpr / 2;
    if (focus >= 0) ring(focus, "#1d2330", dot + 6, 2.5);
    if (hover >= 0) ring(hover, "#1d2330", dot + 4, 2);
    if (placed) {
      const sx = placed.x * base * view.k + view.tx, sy = placed.y * base * view.k + view.ty;
      ctx.beginPath();
      ctx.arc(sx, sy, 9, 0, 2 * Math.PI);
      ctx.fillStyle = "#1d2330";
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(sx, sy, 13, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#1d2330";
      ctx.stroke();
      ctx.font = "600 13px system-ui, sans-serif";
      ctx.fillStyle = "#1d2330";
      ctx.fillText("Your draft", sx + 17, sy + 4);
    }
    ctx.restore();
    return performance.now() - t0;
  }

  // The regions' names for the zoom level (2x2 cells at the whole map, finer as one zooms in),
  // written with a light halo over the dots; the list beside the map says the same.
  const regions = document.getElementById("map-regions");
  let shownLevel = -1;
  function labelLevel() {
    return Math.max(0, Math.min(3, Math.floor(Math.log2(Math.max(1, view.k)) + 0.5)));
  }
  function drawLabels() {
    if (!data.labels.length) return;
    const level = labelLevel();
    const s = base * view.k;
    ctx.font = "600 " + (level === 0 ? 15 : 13) + "px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.lineJoin = "round";
    for (const l of data.labels) {
      if (l.level !== level) continue;
      const x = l.x * s + view.tx, y = l.y * s + view.ty;
      if (x < -50 || y < -20 || x > width + 50 || y > height + 20) continue;
      ctx.lineWidth = 4;
      ctx.strokeStyle = "rgba(255, 253, 248, 0.9)";
      ctx.strokeText(l.text, x, y);
      ctx.fillStyle = "#1d2330";
      ctx.fillText(l.text, x, y);
    }
    ctx.textAlign = "start";
    if (regions && level !== shownLevel) {
      shownLevel = level;
      regions.replaceChildren(...data.labels
        .filter((l) => l.level === level)
        .sort((a, b) => b.documents - a.documents)
        .map((l) => {
          const li = document.createElement("li");
          li.textContent = l.text + " (" + l.documents + ")";
          return li;
        }));
    }
  }

  // The dots' diameter in device pixels: larger when the collection is sparse on screen, and
  // growing a little as one zooms in, so a small collection and a dense one both read well.
  function dotSize() {
    const spacing = Math.sqrt((width * height) / Math.max(1, data.n)) * Math.sqrt(view.k);
    return Math.max(2, Math.round(dpr * Math.min(9, Math.max(2, spacing * 0.12) + Math.log2(Math.max(1, view.k)))));
  }

  // The pixel offsets of a disc of diameter r in a buffer W pixels wide (kept until r or W change).
  let stampKey = "", stampOffsets = null;
  function stamp(r, W) {
    const key = r + "x" + W;
    if (key === stampKey) return stampOffsets;
    const out = [];
    const c = (r - 1) / 2, lim = (r / 2) * (r / 2) + 0.25;
    for (let a = 0; a < r; a++) {
      for (let b = 0; b < r; b++) {
        if (r <= 3 || (a - c) * (a - c) + (b - c) * (b - c) <= lim) out.push(a * W + b);
      }
    }
    stampKey = key;
    stampOffsets = Int32Array.from(out);
    return stampOffsets;
  }

  function ring(i, colour, radius, lineWidth) {
    const [sx, sy] = toScreen(i);
    ctx.beginPath();
    ctx.arc(sx, sy, radius, 0, 2 * Math.PI);
    ctx.lineWidth = lineWidth;
    ctx.strokeStyle = colour;
    ctx.stroke();
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; draw(); });
  }

  // A uniform grid over the unit square: the points of each cell, for hit tests.
  function buildGrid() {
    const size = Math.max(8, Math.min(512, Math.round(Math.sqrt(data.n / 4))));
    const cell = new Uint32Array(data.n);
    const start = new Uint32Array(size * size + 1);
    for (let i = 0; i < data.n; i++) {
      const cx = Math.min(size - 1, Math.max(0, Math.floor(data.x[i] * size)));
      const cy = Math.min(size - 1, Math.max(0, Math.floor(data.y[i] * size)));
      cell[i] = cy * size + cx;
      start[cell[i] + 1]++;
    }
    for (let c = 0; c < size * size; c++) start[c + 1] += start[c];
    const fill = start.slice(0, size * size);
    const items = new Uint32Array(data.n);
    for (let i = 0; i < data.n; i++) items[fill[cell[i]]++] = i;
    grid = { size, start, items };
  }

  // How near the pointer must be to a dot (CSS px) to point at it.
  function hitRadius() {
    return Math.max(8, dotSize() / dpr / 2 + 3);
  }

  // The visible point nearest the screen position (CSS px), within `radius` px; or -1.
  function pick(mx, my, radius) {
    if (!grid) return -1;
    const s = base * view.k;
    const x = (mx - view.tx) / s, y = (my - view.ty) / s, rr = radius / s;
    const size = grid.size;
    const c0 = Math.max(0, Math.floor((x - rr) * size)), c1 = Math.min(size - 1, Math.floor((x + rr) * size));
    const r0 = Math.max(0, Math.floor((y - rr) * size)), r1 = Math.min(size - 1, Math.floor((y + rr) * size));
    let best = -1, bestD = rr * rr;
    for (let cy = r0; cy <= r1; cy++) {
      for (let cx = c0; cx <= c1; cx++) {
        const c = cy * size + cx;
        for (let p = grid.start[c]; p < grid.start[c + 1]; p++) {
          const i = grid.items[p];
          if (hidden[data.dept[i]] || out[i]) continue;
          const dx = data.x[i] - x, dy = data.y[i] - y, d = dx * dx + dy * dy;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  function showTip(i, mx, my) {
    if (i < 0) { tip.hidden = true; return; }
    tip.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = data.title[i];
    const meta = document.createElement("span");
    const year = data.year[i] ? " · " + data.year[i] : "";
    meta.textContent = data.departments[data.dept[i]] + year;
    tip.append(title, meta);
    tip.hidden = false;
    const left = Math.min(mx + 14, width - tip.offsetWidth - 8);
    const top = my + 14 + tip.offsetHeight > height ? my - tip.offsetHeight - 10 : my + 14;
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = Math.max(4, top) + "px";
  }

  function zoomAt(factor, mx, my) {
    const k = Math.min(400, Math.max(0.5, view.k * factor));
    const f = k / view.k;
    view.tx = mx - (mx - view.tx) * f;
    view.ty = my - (my - view.ty) * f;
    view.k = k;
    schedule();
  }

  // How far to zoom in on one document: further in a larger collection.
  function closeUp() {
    return Math.min(8, Math.max(1.5, Math.sqrt(data.n) / 25));
  }

  function centreOn(x, y, k) {
    view.k = k;
    view.tx = width / 2 - x * base * k;
    view.ty = height / 2 - y * base * k;
    schedule();
  }

  function local(e) {
    const rect = canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  // Pointer input: one pointer pans (or clicks, if it barely moved), two pinch.
  const pointers = new Map();
  let moved = 0, pinch = 0;
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, local(e));
    moved = 0;
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = Math.hypot(a[0] - b[0], a[1] - b[1]);
    }
    canvas.classList.add("dragging");
  });
  canvas.addEventListener("pointermove", (e) => {
    const [mx, my] = local(e);
    if (pointers.has(e.pointerId)) {
      const [px, py] = pointers.get(e.pointerId);
      pointers.set(e.pointerId, [mx, my]);
      if (pointers.size === 1) {
        view.tx += mx - px;
        view.ty += my - py;
        moved += Math.abs(mx - px) + Math.abs(my - py);
        tip.hidden = true;
        schedule();
        return;
      }
      if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
        if (pinch > 0) zoomAt(d / pinch, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
        pinch = d;
        moved += 10;
        return;
      }
    }
    const i = pick(mx, my, hitRadius());
    canvas.classList.toggle("pointing", i >= 0);
    if (i !== hover) { hover = i; schedule(); }
    showTip(i, mx, my);
  });
  function release(e) {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = 0;
    if (pointers.size === 0) canvas.classList.remove("dragging");
  }
  canvas.addEventListener("pointerup", (e) => {
    const click = pointers.size === 1 && moved < 5;
    release(e);
    if (!click) return;
    const [mx, my] = local(e);
    const i = pick(mx, my, hitRadius());
    if (i >= 0) window.location.href = "/similar_to/" + data.id[i] + "/";
  });
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("pointerleave", () => {
    if (hover >= 0) { hover = -1; schedule(); }
    tip.hidden = true;
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [mx, my] = local(e);
    const step = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    zoomAt(Math.exp(-step * 0.0015), mx, my);
  }, { passive: false });
  canvas.addEventListener("keydown", (e) => {
    const step = 60;
    const keys = {
      "+": () => zoomAt(1.5, width / 2, height / 2),
      "=": () => zoomAt(1.5, width / 2, height / 2),
      "-": () => zoomAt(1 / 1.5, width / 2, height / 2),
      "0": () => { reset(); schedule(); },
      ArrowLeft: () => { view.tx += step; schedule(); },
      ArrowRight: () => { view.tx -= step; schedule(); },
      ArrowUp: () => { view.ty += step; schedule(); },
      ArrowDown: () => { view.ty -= step; schedule(); },
    };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  root.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "reset") { reset(); schedule(); }
      else zoomAt(how === "in" ? 1.5 : 1 / 1.5, width / 2, height / 2);
    });
  });
  new ResizeObserver(() => { if (resize()) draw(); }).observe(canvas);

  function buildLegend() {
    legend.replaceChildren();
    data.departments.forEach((name, d) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", "true");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colourOf(d);
      const label = document.createElement("span");
      label.textContent = name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = data.counts[d].toLocaleString("en");
      button.append(swatch, label, count);
      button.addEventListener("click", () => {
        hidden[d] = hidden[d] ? 0 : 1;
        button.setAttribute("aria-pressed", hidden[d] ? "false" : "true");
        if (hover >= 0 && hidden[data.dept[hover]]) hover = -1;
        schedule();
      });
      li.append(button);
      legend.append(li);
    });
  }

  // Find: a search that highlights the documents whose title or authors match (the others
  // drawn pale), and a year range outside which documents are not drawn.
  const findForm = document.getElementById("map-find");
  const found = document.getElementById("map-found");
  function applyFind() {
    if (!data || !findForm) return;
    const q = findForm.elements.q.value.trim().toLowerCase();
    const from = parseInt(findForm.elements.year_from.value, 10);
    const to = parseInt(findForm.elements.year_to.value, 10);
    let matches = 0, inRange = 0;
    for (let i = 0; i < data.n; i++) {
      const y = data.year[i];
      const outside = (Number.isFinite(from) && !(y && y >= from)) || (Number.isFinite(to) && !(y && y <= to));
      out[i] = outside ? 1 : 0;
      const miss = q !== "" && !(data.title[i].toLowerCase().includes(q) || (data.author[i] || "").toLowerCase().includes(q));
      dim[i] = miss ? 1 : 0;
      if (!outside) {
        inRange++;
        if (!miss) matches++;
      }
    }
    if (hover >= 0 && out[hover]) hover = -1;
    root.dataset.matches = String(matches);
    found.textContent = q === "" && !Number.isFinite(from) && !Number.isFinite(to)
      ? ""
      : (q === "" ? inRange.toLocaleString("en") + " documents in these years"
        : matches.toLocaleString("en") + " documents match" + (inRange < data.n ? " in these years" : ""));
    schedule();
  }
  if (findForm) {
    findForm.addEventListener("input", applyFind);
    findForm.addEventListener("submit", (e) => { e.preventDefault(); applyFind(); });
  }

  async function load() {
    const t0 = performance.now();
    const res = await fetch("/api/map", { headers: { Accept: "application/json" } });
    if (!res.ok) {
      let message = "The map could not be loaded (" + res.status + ").";
      try { message = (await res.json()).error.message; } catch (_) { /* keep the status */ }
      throw new Error(message);
    }
    const body = await res.json();
    const n = body.id.length;
    data = {
      n,
      id: body.id,
      x: Float32Array.from(body.x),
      y: Float32Array.from(body.y),
      dept: Uint16Array.from(body.department),
      year: body.year,
      title: body.title,
      departments: body.departments,
      counts: body.department_counts,
      labels: body.labels || [],
      author: body.author || [],
    };
    out = new Uint8Array(n);
    dim = new Uint8Array(n);
    rgba = Uint32Array.from(body.departments.map((_, d) => packed(colourOf(d))));
    hidden = new Uint8Array(body.departments.length);
    buildGrid();
    buildLegend();
    resize();
    const wanted = Number(root.dataset.focus);
    if (root.dataset.focus && Number.isFinite(wanted)) {
      focus = data.id.indexOf(wanted);
      if (focus >= 0) {
        centreOn(data.x[focus], data.y[focus], closeUp());
        const [sx, sy] = toScreen(focus);
        showTip(focus, sx, sy);
      }
    }
    draw();
    status.textContent = n.toLocaleString("en") + " documents" +
      (root.dataset.focus && focus < 0 ? " · document " + root.dataset.focus + " is not on the map" : "");
    root.dataset.ready = "true";
    root.dataset.points = String(n);
    return { points: n, loadMs: performance.now() - t0 };
  }

  async function place(e) {
    e.preventDefault();
    placedBox.replaceChildren();
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = "Reading and placing your file…";
    placedBox.append(note);
    try {
      const res = await fetch("/api/map/place", { method: "POST", body: new FormData(placeForm), headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error((body.error && body.error.message) || "The file could not be placed (" + res.status + ").");
      placed = { x: body.x, y: body.y };
      focus = -1;
      tip.hidden = true;
      centreOn(body.x, body.y, closeUp());
      note.textContent = "Your draft is the ringed dark dot labelled “Your draft”. The documents nearest it:";
      const list = document.createElement("ol");
      for (const r of body.results) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = "/similar_to/" + r.identifier + "/";
        a.textContent = r.title;
        li.append(a);
        list.append(li);
      }
      if (!body.results.length) note.textContent = "Your draft is the ringed dark dot labelled “Your draft”; no document is similar enough to list.";
      placedBox.append(list);
      root.dataset.placed = "true";
    } catch (err) {
      note.className = "error-message";
      note.setAttribute("role", "alert");
      note.textContent = err.message;
    }
  }
  if (placeForm) placeForm.addEventListener("submit", place);

  // For the browser test and benches/map.sh: where a point is drawn, and the frame time of a
  // pan-and-zoom sequence (each frame drawn synchronously and timed).
  const ready = load().catch((err) => {
    status.textContent = err.message;
    root.dataset.error = err.message;
    throw err;
  });
  window.hamletMap = {
    ready,
    screenOf(id) {
      const i = data.id.indexOf(id);
      if (i < 0) return null;
      const rect = canvas.getBoundingClientRect();
      const [sx, sy] = toScreen(i);
      return { x: rect.left + sx, y: rect.top + sy };
    },
    benchmark(frames) {
      const times = [];
      const saved = { ...view };
      for (let f = 0; f < frames; f++) {
        const phase = f % 120;
        if (phase < 40) zoomAt(1.04, width / 2, height / 2);
        else if (phase < 80) { view.tx += 7; view.ty -= 4; }
        else zoomAt(1 / 1.04, width * 0.4, height * 0.6);
        times.push(draw());
      }
      Object.assign(view, saved);
      draw();
      times.sort((a, b) => a - b);
      const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
      return { frames, median: at(0.5), p95: at(0.95), max: times[times.length - 1], points: data.n, width: canvas.width, height: canvas.height };
    },
    paced(frames) {
      return new Promise((resolve) => {
        const stamps = [];
        const step = (t) => {
          stamps.push(t);
          view.tx += 3;
          draw();
          if (stamps.length <= frames) requestAnimationFrame(step);
          else {
            const gaps = stamps.slice(1).map((s, i) => s - stamps[i]).sort((a, b) => a - b);
            const at = (p) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))];
            view.tx -= 3 * stamps.length;
            draw();
            resolve({ frames, median: at(0.5), p95: at(0.95) });
          }
        };
        requestAnimationFrame(step);
      });
    },
    hoverCost(positions) {
      let seed = 7;
      const t0 = performance.now();
      for (let p = 0; p < positions; p++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const mx = (seed % 10000) / 10000 * width;
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const my = (seed % 10000) / 10000 * height;
        pick(mx, my, 8);
      }
      return { positions, microseconds: (performance.now() - t0) * 1000 / positions };
    },
  };
})();
