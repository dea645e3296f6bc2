// qplane serve: polls /api/run?name=... and redraws the page's numbers and SVG charts in place.
// Read-only: it only ever sends GET requests. No external scripts.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const POLL_MS = Math.max(200, Number(params.get("poll")) || 2000);
  const SVG = "http://www.w3.org/2000/svg";
  const W = 480, H = 220, M = { l: 52, r: 10, t: 10, b: 28 };
  let current = params.get("run") || "";
  let timer = null;

  const $ = (id) => document.getElementById(id);
  const fmt = (x, d = 3) => (x === null || x === undefined) ? "-" : Number(x).toExponential(d);
  const ms = (s) => (s === null || s === undefined) ? "-" : (s * 1e3).toFixed(2) + " ms";
  const clock = (t) => (t === null || t === undefined) ? "-" : new Date(t * 1000).toISOString().slice(11, 19);

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function message(svg, text) {
    clear(svg);
    svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, text));
  }
  function axes(svg, x0, x1, y0, y1, xlabel, yfmt) {
    const sx = (x) => M.l + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (W - M.l - M.r);
    const sy = (y) => H - M.b - (y1 > y0 ? (y - y0) / (y1 - y0) : 0) * (H - M.t - M.b);
    svg.appendChild(el("line", { x1: M.l, y1: H - M.b, x2: W - M.r, y2: H - M.b, stroke: "#999" }));
    svg.appendChild(el("line", { x1: M.l, y1: M.t, x2: M.l, y2: H - M.b, stroke: "#999" }));
    for (let i = 0; i <= 4; i++) {
      const y = y0 + (y1 - y0) * i / 4;
      svg.appendChild(el("text", { x: M.l - 4, y: sy(y) + 3, "text-anchor": "end" }, yfmt(y)));
    }
    svg.appendChild(el("text", { x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" }, xlabel));
    return [sx, sy];
  }

  // A rate over time with its interval as a band.
  function bandChart(svg, s, empty) {
    clear(svg);
    if (!s || !s.t.length) { message(svg, empty); return; }
    const t0 = s.t[0], t = s.t.map((x) => x - t0);
    const hi = Math.max(...s.upper.filter((x) => x !== null), 1e-12);
    const [sx, sy] = axes(svg, 0, Math.max(t[t.length - 1], 1e-9), 0, hi * 1.05,
                          "seconds since first block", (y) => y.toExponential(1));
    let band = "", line = "";
    t.forEach((x, i) => { band += (i ? "L" : "M") + sx(x) + "," + sy(s.upper[i] ?? 0); });
    for (let i = t.length - 1; i >= 0; i--) band += "L" + sx(t[i]) + "," + sy(s.lower[i] ?? 0);
    t.forEach((x, i) => { line += (i ? "L" : "M") + sx(x) + "," + sy(s.rate[i] ?? 0); });
    svg.appendChild(el("path", { d: band + "Z", fill: "#4c72b0", "fill-opacity": 0.2, stroke: "none" }));
    svg.appendChild(el("path", { d: line, fill: "none", stroke: "#4c72b0", "stroke-width": 1.5 }));
    t.forEach((x, i) => svg.appendChild(el("circle", { cx: sx(x), cy: sy(s.rate[i] ?? 0), r: 2, fill: "#4c72b0" })));
  }

  function heatmap(svg, h) {
    clear(svg);
    if (!h || !h.x.length) { message(svg, "no detection events yet"); return; }
    const xs = h.x, ys = h.y, rates = h.rate.map((r) => r ?? 0);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const rmax = Math.max(...rates, 1e-12);
    const cell = Math.min((W - 120) / (x1 - x0 + 2), (H - 30) / (y1 - y0 + 2));
    rates.forEach((r, i) => {
      const v = r / rmax;
      const colour = `rgb(${Math.round(255 * v)},${Math.round(80 + 100 * (1 - v))},${Math.round(255 * (1 - v))})`;
      const cx = 20 + (xs[i] - x0 + 0.5) * cell, cy = 15 + (ys[i] - y0 + 0.5) * cell;
      const r_ = el("rect", { x: cx, y: cy, width: cell * 0.9, height: cell * 0.9, fill: colour });
      r_.appendChild(el("title", {}, `(${xs[i]}, ${ys[i]}): ${fmt(h.rate[i], 2)}`));
      svg.appendChild(r_);
    });
    svg.appendChild(el("text", { x: W - 10, y: 20, "text-anchor": "end" }, "max " + fmt(rmax, 2)));
    svg.appendChild(el("text", { x: W - 10, y: 34, "text-anchor": "end" }, `${h.shots} shots`));
  }

  function histogram(svg, lat) {
    clear(svg);
    if (!lat || !lat.counts.length) { message(svg, "no corrected blocks yet"); return; }
    const e = lat.edges_ms, c = lat.counts;
    const [sx, sy] = axes(svg, e[0], e[e.length - 1], 0, Math.max(...c, 1), "latency (ms)",
                            (y) => (Number.isInteger(y) ? String(y) : y.toFixed(1)));
    c.forEach((n, i) => svg.appendChild(el("rect", {
      x: sx(e[i]), y: sy(n), width: Math.max(1, sx(e[i + 1]) - sx(e[i]) - 1), height: sy(0) - sy(n), fill: "#55a868" })));
    for (const [key, colour] of [["p50_ms", "#333"], ["p99_ms", "#c44e52"]]) {
      if (lat[key] === null) continue;
      const x = sx(lat[key]);
      svg.appendChild(el("line", { x1: x, x2: x, y1: M.t, y2: H - M.b, stroke: colour, "stroke-dasharray": "3,2" }));
      svg.appendChild(el("text", { x: x + 3, y: M.t + 10 }, key.replace("_ms", "")));
    }
  }

  function rows(id, items, cells) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(...items.map((item) => {
      const tr = document.createElement("tr");
      for (const [text, cls] of cells(item)) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      return tr;
    }));
  }

  function show(p) {
    const s = p.snapshot;
    document.title = `qplane ${s.run_id || p.name}: ${s.state}`;
    $("run-id").textContent = s.run_id || p.name;
    $("state").textContent = `${s.state}, ${s.elapsed_s.toFixed(1)} s`;
    const ler = $("ler");
    ler.textContent = s.ler_text;
    ler.dataset.failures = s.failures ?? "";
    ler.dataset.shots = s.shots;
    const blocks = $("blocks");
    blocks.textContent = `${s.blocks.toLocaleString("en")} blocks, ${s.shots.toLocaleString("en")} shots`
      + (s.in_flight ? `, ${s.in_flight} in flight` : "");
    blocks.dataset.blocks = s.blocks;
    $("latency").textContent = `${ms(s.latency_p50_s)} / ${ms(s.latency_p99_s)} (decoder ${ms(s.decode_p50_s)} / ${ms(s.decode_p99_s)})`;
    $("shadow").textContent = s.shadow_shots ? `${s.shadow_disagreements} / ${s.shadow_shots} (${fmt(s.shadow_rate, 2)})` : "-";
    $("calibration").textContent = `${s.calibration_runs} node runs, ${s.parameter_updates} updates`
      + (s.calibration_last ? `; last: ${s.calibration_last}` : "");
    bandChart($("ler-chart"), p.ler, "no ground truth or no corrected blocks yet");
    heatmap($("heatmap"), p.heatmap);
    histogram($("latency-chart"), p.latency);
    bandChart($("shadow-chart"), p.shadow, "no shadow decoder");
    rows("workers", s.workers, (w) => [[w.name], [w.state, w.state], [w.blocks ?? "-"],
      [w.last_seen_s === null ? "-" : w.last_seen_s.toFixed(1) + " s ago"]]);
    $("problems").replaceChildren(...s.problems.map((text) => {
      const li = document.createElement("li"); li.textContent = text; return li; }));
    rows("changes", p.changes.slice().reverse(), (c) => [[clock(c.t)], [c.parameter], [fmt(c.old, 4)], [fmt(c.new, 4)], [c.node || c.source]]);
    rows("node-runs", p.calibration.slice().reverse(), (c) => [[clock(c.t)], [c.node], [c.qubit], [c.outcome]]);
    rows("events", p.events.slice().reverse(), (e) => [[clock(e.t)], [e.level, e.level], [e.source], [e.message]]);
    document.body.dataset.updates = Number(document.body.dataset.updates || 0) + 1;
    return s.state === "running";
  }

  async function refresh() {
    clearTimeout(timer);
    let again = true;
    try {
      if (!current) { await listRuns(); }
      if (current) {
        const r = await fetch("/api/run?name=" + encodeURIComponent(current), { cache: "no-store" });
        const p = await r.json();
        if (!r.ok) throw new Error(p.error || r.statusText);
        again = show(p);
        $("status").textContent = (again ? "following, updated " : "finished, read ") + new Date().toLocaleTimeString();
      }
    } catch (err) {
      $("status").textContent = "cannot read the run just now: " + err.message;
    }
    // A finished run does not change; keep polling slowly in case the list does.
    timer = setTimeout(refresh, again ? POLL_MS : POLL_MS * 5);
  }

  async function listRuns() {
    const r = await fetch("/api/runs", { cache: "no-store" });
    const runs = (await r.json()).runs;
    const select = $("run-select");
    const seen = Array.from(select.options).map((o) => o.value).join("\n");
    if (seen !== runs.map((x) => x.name).join("\n")) {
      select.replaceChildren(...runs.map((x) => {
        const o = document.createElement("option"); o.value = x.name; o.textContent = `${x.name} (${x.state})`; return o; }));
    }
    if (!current && runs.length) {
      current = (runs.find((x) => x.state === "running") || runs[0]).name;
    }
    select.value = current;
    if (!runs.length) $("status").textContent = "no run files found yet";
  }

  $("run-select").addEventListener("change", (e) => { current = e.target.value; refresh(); });
  listRuns().then(refresh, refresh);
  setInterval(() => listRuns().catch(() => {}), POLL_MS * 5);
})();
