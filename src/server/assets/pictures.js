"use strict";
// chainsched dashboard pictures, drawn here as plain SVG from the API's numbers (no library, no
// network beyond the service): a job's Gantt (GET /api/v1/jobs/{job}/gantt), a chain's page
// with its run history (GET /api/v1/chains/{chain}/history) and its graph, the landing page at
// a glance (GET /api/v1/overview), zoom and pan on chain graphs. This file is placed before
// dashboard.js in the page; it only defines functions that dashboard.js calls.

const SVGNS = "http://www.w3.org/2000/svg";
const pic = { collapsed: new Map(), chain: null, runs: 50, gantt: null, glanceTimer: null };

function ms(iso) { return iso ? new Date(iso).getTime() : null; }

function fmtClock(t) {
  const d = new Date(t);
  return d.toLocaleTimeString([], { hour12: false }) + (d.getMilliseconds() ? "." + String(d.getMilliseconds()).padStart(3, "0") : "");
}

// "nice" ticks over [0, span] milliseconds.
function ticks(span, want) {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 144e5, 288e5, 864e5];
  const step = steps.find((s) => span / s <= want) || span / want;
  const out = [];
  for (let t = 0; t <= span + 1e-9; t += step) out.push(t);
  return out;
}

function durText(msv) { return fmtDur(msv / 1000); }

// ------------------------------------------------------------------ Gantt

async function loadGantt(name) {
  const box = $("#gantt");
  if (!box) return;
  try {
    const g = await api(`/api/v1/jobs/${encodeURIComponent(name)}/gantt`);
    if (ui.selected !== name) return;
    pic.gantt = g;
    renderGantt(g, box);
  } catch (e) { box.innerHTML = `<div class="empty">${esc(e.message)}</div>`; }
}

function ganttTooltip(b, row) {
  const lines = [`${b.step_job_subname} — run ${b.run}${b.operation ? " (" + b.operation + ")" : ""}`, `state ${b.state}${b.error_code ? ", error code " + b.error_code : ""}`];
  if (row) lines.push(`${row.kind.toLowerCase()} step of chain ${row.chain_name}`);
  if (b.rule_name) lines.push(`started by rule ${b.rule_name}`);
  if (b.scheduled_date) lines.push(`scheduled ${fmtClock(ms(b.scheduled_date))}`);
  if (b.requested_date) lines.push(`requested ${fmtClock(ms(b.requested_date))}`);
  if (b.actual_start_date) lines.push(`started ${fmtClock(ms(b.actual_start_date))}`);
  if (b.end_date) lines.push(`ended ${fmtClock(ms(b.end_date))}`);
  const from = ms(b.actual_start_date || b.requested_date);
  if (from) lines.push(`ran ${durText((ms(b.end_date) || ms(pic.gantt && pic.gantt.now) || Date.now()) - from)}`);
  if (b.critical) lines.push("on the critical path");
  return lines.join("\n");
}

function renderGantt(g, box) {
  const rowH = 26, head = 30, labelW = 220, right = 24;
  const width = Math.max(640, (box.clientWidth || 1000) - 4);
  const now = ms(g.now);
  const begin = (b) => ms(b.scheduled_date || b.requested_date || b.actual_start_date);
  const t0 = Math.min(ms(g.start_date), ...g.bars.map(begin).filter((t) => t !== null));
  const t1 = Math.max(ms(g.end_date) || now, ...g.bars.map((b) => ms(b.end_date) || now));
  const span = Math.max(1, t1 - t0);
  const plotW = width - labelW - right;
  const X = (t) => labelW + ((t - t0) / span) * plotW;
  const rowIndex = new Map(g.rows.map((r, i) => [r.step_job_subname, i]));
  const height = head + g.rows.length * rowH + 10;
  const parts = [];
  parts.push(`<svg xmlns="${SVGNS}" class="gantt-chart" data-job="${esc(g.job_name)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="12">`);
  parts.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef2ff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#6366f1" stroke-width="2"/></pattern>`
    + `<pattern id="evt" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="8" height="8" fill="#dcfce7"/><line x1="0" y1="0" x2="0" y2="8" stroke="#16a34a" stroke-width="3"/></pattern></defs>`);
  // Rows: zebra, names indented by depth.
  g.rows.forEach((r, i) => {
    const y = head + i * rowH;
    if (i % 2) parts.push(`<rect x="0" y="${y}" width="${width}" height="${rowH}" fill="#f8fafc"/>`);
    parts.push(`<text class="gantt-row" data-step="${esc(r.step_job_subname)}" x="${8 + r.depth * 16}" y="${y + rowH / 2 + 4}" fill="#0f172a" font-weight="${r.depth ? 400 : 600}">${r.depth ? "└ " : ""}${esc(r.step_name)}<tspan fill="#94a3b8" font-size="10"> ${esc(r.kind === "PROGRAM" ? "" : r.kind.toLowerCase())}</tspan></text>`);
  });
  // Time axis.
  for (const t of ticks(span, 8)) {
    const x = X(t0 + t);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${head - 6}" x2="${x.toFixed(1)}" y2="${height - 10}" stroke="#e2e8f0"/><text x="${x.toFixed(1)}" y="${head - 10}" text-anchor="middle" fill="#64748b" font-size="10">+${esc(durText(t))}</text>`);
  }
  // Bars.
  for (const b of g.bars) {
    const i = rowIndex.get(b.step_job_subname);
    if (i === undefined) continue;
    const row = g.rows[i];
    const y = head + i * rowH + 5, h = rowH - 10;
    const sch = ms(b.scheduled_date), req = ms(b.requested_date), act = ms(b.actual_start_date), end = ms(b.end_date) || now;
    const runFrom = act || req || sch;
    const segs = [];
    if (sch !== null && req !== null && req > sch) segs.push(`<rect class="seg-delay" x="${X(sch).toFixed(1)}" y="${y}" width="${Math.max(1, X(req) - X(sch)).toFixed(1)}" height="${h}" fill="url(#hatch)"><title>waiting to start (AFTER delay or retry wait)</title></rect>`);
    if (sch !== null && req === null) segs.push(`<rect class="seg-delay" x="${X(sch).toFixed(1)}" y="${y}" width="${Math.max(2, X(end) - X(sch)).toFixed(1)}" height="${h}" fill="url(#hatch)"/>`);
    if (req !== null && act !== null && act > req) segs.push(`<rect class="seg-wait" x="${X(req).toFixed(1)}" y="${y + 3}" width="${Math.max(1, X(act) - X(req)).toFixed(1)}" height="${h - 6}" fill="#cbd5e1"><title>queue wait ${esc(durText(act - req))}</title></rect>`);
    if (req !== null || act !== null) {
      const color = STATE_COLORS[b.state] || "#94a3b8";
      const eventWait = row.kind === "EVENT" && b.state === "RUNNING";
      segs.push(`<rect class="seg-run" x="${X(runFrom).toFixed(1)}" y="${y}" width="${Math.max(2, X(end) - X(runFrom)).toFixed(1)}" height="${h}" rx="3" fill="${eventWait ? "url(#evt)" : color}"${b.critical ? ' stroke="#0f172a" stroke-width="2"' : ""}/>`);
    }
    parts.push(`<g class="gantt-bar${b.critical ? " critical" : ""}" data-step="${esc(b.step_job_subname)}" data-state="${esc(b.state)}" data-run="${b.run}"${b.log_id ? ` data-log="${b.log_id}"` : ""}><title>${esc(ganttTooltip(b, row))}</title>${segs.join("")}</g>`);
  }
  if (!g.end_date) parts.push(`<line class="now" x1="${X(now).toFixed(1)}" y1="${head - 4}" x2="${X(now).toFixed(1)}" y2="${height - 10}" stroke="#dc2626" stroke-dasharray="3 3"/>`);
  parts.push(`</svg>`);
  box.innerHTML = `<div class="gantt-legend"><span><i style="background:${STATE_COLORS.SUCCEEDED}"></i>run (colour: state)</span><span><i class="hatch"></i>AFTER delay / retry wait</span><span><i style="background:#cbd5e1"></i>queue wait</span><span><i class="evt"></i>waiting for an event</span><span><i class="crit"></i>critical path</span><span class="mono">${esc(fmtDate(g.start_date))} → ${esc(g.end_date ? fmtDate(g.end_date) : "now")} · ${esc(durText(span))}</span></div>` + parts.join("");
  $$(".gantt-bar[data-log]", box).forEach((el) => el.addEventListener("click", () => { showTab("log", true); showDetails(el.dataset.log); }));
}

// ------------------------------------------------------------------ zoom and pan

// Wheel zooms around the pointer, dragging pans, the buttons zoom, fit and reset.
function enableZoom(box) {
  const svg = $("svg", box);
  if (!svg || svg.dataset.zoom) return;
  const vb = (svg.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
  if (vb.length !== 4 || vb.some((v) => !isFinite(v))) return;
  svg.dataset.zoom = "1";
  const full = { x: vb[0], y: vb[1], w: vb[2], h: vb[3] };
  let view = { ...full };
  // Never drawn larger than actual size; a chain too big to read whole starts centred at a
  // readable size (the "fit" button shows it whole).
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.style.width = "100%";
  svg.style.height = `min(70vh, ${Math.ceil(full.h)}px)`;
  svg.style.maxWidth = "none";
  const at = (scale) => {
    const r = svg.getBoundingClientRect();
    if (!r.width || !r.height) return { ...full };
    const w = r.width / scale, h = r.height / scale;
    return { x: full.x + full.w / 2 - w / 2, y: full.y + full.h / 2 - h / 2, w, h };
  };
  const fitScale = () => {
    const r = svg.getBoundingClientRect();
    return r.width && r.height ? Math.min(r.width / full.w, r.height / full.h) : 1;
  };
  const first = Math.min(1, fitScale());
  view = at(first < 0.5 ? 0.6 : first);
  svg.style.cursor = "grab";
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  svg.dataset.full = `${full.x} ${full.y} ${full.w} ${full.h}`;
  // Far out (under half size) rule names are unreadable: hidden until zoomed in.
  const apply = () => {
    svg.setAttribute("viewBox", `${view.x.toFixed(1)} ${view.y.toFixed(1)} ${view.w.toFixed(1)} ${view.h.toFixed(1)}`);
    const r = svg.getBoundingClientRect();
    if (r.width) svg.classList.toggle("far", Math.min(r.width / view.w, r.height / view.h) < 0.45);
  };
  const zoom = (f, cx, cy) => {
    const w = Math.min(full.w * 4, Math.max(40, view.w * f)), h = view.h * (w / view.w);
    view = { x: cx - (cx - view.x) * (w / view.w), y: cy - (cy - view.y) * (h / view.h), w, h };
    apply();
  };
  const toUser = (ev) => {
    const r = svg.getBoundingClientRect();
    const s = Math.max(view.w / r.width, view.h / r.height);
    const ox = (r.width * s - view.w) / 2, oy = (r.height * s - view.h) / 2;
    return { x: view.x - ox + (ev.clientX - r.left) * s, y: view.y - oy + (ev.clientY - r.top) * s, s };
  };
  svg.addEventListener("wheel", (ev) => { ev.preventDefault(); const p = toUser(ev); zoom(ev.deltaY > 0 ? 1.2 : 1 / 1.2, p.x, p.y); }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => { if (ev.button !== 0) return; drag = { x: ev.clientX, y: ev.clientY, v: { ...view }, s: toUser(ev).s, moved: false }; });
  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; svg.style.cursor = "grabbing"; }
    view = { ...drag.v, x: drag.v.x - dx * drag.s, y: drag.v.y - dy * drag.s };
    apply();
  });
  window.addEventListener("pointerup", () => { if (drag && drag.moved) svg.dataset.dragged = String(Date.now()); drag = null; svg.style.cursor = "grab"; });
  const bar = document.createElement("div");
  bar.className = "zoombar";
  bar.innerHTML = `<button class="btn" data-z="in" title="zoom in">+</button><button class="btn" data-z="out" title="zoom out">−</button><button class="btn" data-z="fit" title="whole chain">fit</button><button class="btn" data-z="one" title="actual size">1:1</button>`;
  bar.addEventListener("click", (ev) => {
    const z = ev.target.dataset && ev.target.dataset.z;
    const c = { x: view.x + view.w / 2, y: view.y + view.h / 2 };
    if (z === "in") zoom(1 / 1.4, c.x, c.y);
    if (z === "out") zoom(1.4, c.x, c.y);
    if (z === "fit") { view = at(Math.min(1, fitScale())); apply(); }
    if (z === "one") { view = at(1); apply(); }
  });
  box.prepend(bar);
  apply();
}

// The rule names of a drawn graph must not overlap: measured in the page (the browser tests read
// the result from data-label-overlaps).
// Measured at actual size: far out, browsers draw text larger than its size (a minimum font
// size on screen), and the page hides rule names there anyway (class "far").
function measureLabels(box) {
  const svg = $("svg", box);
  const labels = $$("text.edge-label", box);
  if (!svg || labels.length > 3000) return;
  const saved = { w: svg.style.width, h: svg.style.height, vb: svg.getAttribute("viewBox"), far: svg.classList.contains("far") };
  if (svg.dataset.full) {
    const [, , w, h] = svg.dataset.full.split(" ").map(Number);
    svg.style.width = w + "px"; svg.style.height = h + "px";
    svg.setAttribute("viewBox", svg.dataset.full);
    svg.classList.remove("far");
  }
  const rects = labels.map((t) => t.getBBox());
  svg.style.width = saved.w; svg.style.height = saved.h;
  if (saved.vb) svg.setAttribute("viewBox", saved.vb);
  svg.classList.toggle("far", saved.far);
  let overlaps = 0;
  for (let i = 0; i < rects.length; i++) {
    const a = rects[i];
    for (let j = i + 1; j < rects.length; j++) {
      const b = rects[j];
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) {
        if (!overlaps) box.dataset.labelOverlapExample = [i, j].map((k) => `${labels[k].textContent}@${rects[k].x.toFixed(1)},${rects[k].y.toFixed(1)},${rects[k].width.toFixed(1)}x${rects[k].height.toFixed(1)}`).join(" ");
        overlaps++;
      }
    }
  }
  box.dataset.labels = String(labels.length);
  box.dataset.labelOverlaps = String(overlaps);
}

// Nested chains fold and unfold on a click on their step or frame (the graph is redrawn).
function collapsedOf(chain) {
  if (!pic.collapsed.has(chain)) pic.collapsed.set(chain, new Set());
  return pic.collapsed.get(chain);
}

async function fetchGraph(chain) {
  const set = collapsedOf(chain);
  const q = set.size ? "?collapse=" + encodeURIComponent(Array.from(set).join(",")) : "";
  const key = chain + q;
  let svg = ui.svgCache.get(key);
  if (!svg) { svg = await apiText(`/api/v1/chains/${encodeURIComponent(chain)}/graph.svg${q}`); ui.svgCache.set(key, svg); }
  return svg;
}

function wireGraph(box, chain, redraw) {
  enableZoom(box);
  measureLabels(box);
  $$("[data-nested]", box).forEach((el) => el.addEventListener("click", (ev) => {
    const svg = $("svg", box);
    if (svg && svg.dataset.dragged && Date.now() - Number(svg.dataset.dragged) < 300) return;
    ev.stopPropagation();
    const set = collapsedOf(chain);
    const sub = el.dataset.nested;
    if (set.has(sub)) set.delete(sub); else set.add(sub);
    redraw();
  }));
  $$("g.step.nested, g.cluster", box).forEach((el) => { el.style.cursor = "pointer"; });
}

// ------------------------------------------------------------------ chain page

async function loadChainPage(chain) {
  pic.chain = chain;
  $("#chain-title").textContent = chain;
  $("#chain-runs").value = pic.runs;
  drawChainGraph(chain);
  try {
    const h = await api(`/api/v1/chains/${encodeURIComponent(chain)}/history?runs=${pic.runs}`);
    if (pic.chain !== chain) return;
    renderHistory(h);
  } catch (e) { $("#chain-history").innerHTML = `<div class="empty">${esc(e.message)}</div>`; }
}

async function drawChainGraph(chain) {
  const box = $("#chain-graph");
  try {
    const svg = await fetchGraph(chain);
    if (pic.chain !== chain) return;
    box.innerHTML = svg;
    wireGraph(box, chain, () => drawChainGraph(chain));
  } catch (e) { box.innerHTML = `<div class="empty">${esc(e.message)}</div>`; }
}

function sparkline(values, w = 160, h = 28) {
  const vs = values.filter((v) => v !== null && v !== undefined);
  if (!vs.length) return `<svg class="spark" width="${w}" height="${h}"></svg>`;
  const max = Math.max(...vs) || 1;
  const step = values.length > 1 ? (w - 4) / (values.length - 1) : 0;
  let d = "", pen = false;
  const dots = [];
  values.forEach((v, i) => {
    if (v === null || v === undefined) { pen = false; return; }
    const x = 2 + i * step, y = h - 3 - (v / max) * (h - 6);
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    pen = true;
    if (i === values.length - 1 || values.length === 1) dots.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.5" fill="#2563eb"/>`);
  });
  return `<svg class="spark" xmlns="${SVGNS}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><path d="${d}" fill="none" stroke="#2563eb" stroke-width="1.5"/>${dots.join("")}<title>${esc(values.map((v) => v === null || v === undefined ? "-" : fmtDur(v)).join(", "))}</title></svg>`;
}

function renderHistory(h) {
  const pct = h.success_rate === null ? "–" : (Math.round(h.success_rate * 1000) / 10) + "%";
  $("#chain-summary").innerHTML = [
    ["runs", `${h.run_count}`], ["success rate", pct], ["succeeded", h.succeeded], ["failed", h.failed], ["stopped", h.stopped],
    ["avg run", fmtDur(h.avg_run_duration) || "–"], ["p50", fmtDur(h.p50_run_duration) || "–"], ["p90", fmtDur(h.p90_run_duration) || "–"], ["avg wait", fmtDur(h.avg_wait_duration) || "–"],
  ].map(([k, v]) => `<div class="stat" data-stat="${esc(k)}"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join("");
  // One bar per run, height = run duration, colour = outcome; p50 and p90 as lines.
  const W = Math.max(600, ($("#chain-history").clientWidth || 900) - 4), H = 200, left = 54, bottom = 22, top = 12;
  const max = Math.max(0.001, ...h.runs.map((r) => r.run_duration || 0), h.p90_run_duration || 0);
  const n = Math.max(1, h.runs.length);
  const slot = (W - left - 10) / n;
  const bw = Math.max(2, Math.min(40, slot * 0.75));
  const Y = (v) => top + (H - top - bottom) * (1 - v / max);
  const parts = [`<svg xmlns="${SVGNS}" class="history-chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="10">`];
  for (const f of [0, 0.5, 1]) parts.push(`<line x1="${left}" x2="${W - 6}" y1="${Y(max * f).toFixed(1)}" y2="${Y(max * f).toFixed(1)}" stroke="#eef2f7"/><text x="${left - 6}" y="${(Y(max * f) + 3).toFixed(1)}" text-anchor="end" fill="#64748b">${esc(fmtDur(max * f))}</text>`);
  h.runs.forEach((r, i) => {
    const v = r.run_duration || 0;
    const x = left + i * slot + (slot - bw) / 2;
    parts.push(`<g class="run-bar" data-job="${esc(r.job_name)}" data-state="${esc(r.state)}"><title>${esc(`${r.job_name}: ${r.state}${r.error_code ? " (" + r.error_code + ")" : ""}\nstarted ${fmtDate(r.start_date)}\nran ${fmtDur(r.run_duration)}, waited ${fmtDur(r.wait_duration) || "0"}`)}</title><rect x="${x.toFixed(1)}" y="${Y(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(1, H - bottom - Y(v)).toFixed(1)}" rx="2" fill="${STATE_COLORS[r.state] || "#94a3b8"}"/></g>`);
  });
  for (const [name, v, dash] of [["p50", h.p50_run_duration, "4 3"], ["p90", h.p90_run_duration, "8 3"]]) {
    if (v === null || v === undefined) continue;
    const lx = name === "p50" ? left + 4 : W - 8, anchor = name === "p50" ? "start" : "end";
    parts.push(`<g class="pline" data-line="${name}"><line x1="${left}" x2="${W - 6}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#0f172a" stroke-dasharray="${dash}"/><text x="${lx}" y="${(Y(v) - 3).toFixed(1)}" text-anchor="${anchor}" fill="#0f172a" stroke="#fff" stroke-width="3" paint-order="stroke">${name} ${esc(fmtDur(v))}</text></g>`);
  }
  if (!h.runs.length) parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#64748b" font-size="13">No finished runs yet.</text>`);
  parts.push(`</svg>`);
  $("#chain-history").innerHTML = parts.join("");
  $$("#chain-history .run-bar").forEach((g) => { g.style.cursor = "pointer"; g.addEventListener("click", () => { location.hash = "#/job/" + encodeURIComponent(g.dataset.job) + "/gantt"; }); });
  $("#chain-steps tbody").innerHTML = h.steps.map((s) => `<tr data-sub="${esc(s.step_job_subname)}"><td><b>${esc(s.step_job_subname)}</b></td><td>${s.runs}</td><td>${s.succeeded}</td><td>${s.failed}</td>
    <td>${esc(fmtDur(s.avg_run_duration))}</td><td>${esc(fmtDur(s.p50_run_duration))}</td><td>${esc(fmtDur(s.p90_run_duration))}</td><td>${sparkline(s.durations)}</td></tr>`).join("")
    || `<tr><td colspan="8" class="empty">No step runs in these runs.</td></tr>`;
}

// ------------------------------------------------------------------ at a glance

// The overview reads a day of the job log: refreshed at most every 15 s unless asked (routing).
async function loadGlance(force) {
  const box = $("#glance");
  if (!box || box.offsetParent === null) return;
  if (!force && Date.now() - (pic.glanceAt || 0) < 15000) return;
  pic.glanceAt = Date.now();
  try {
    const o = await api("/api/v1/overview");
    renderGlance(o);
  } catch (e) { $("#glance-counters").innerHTML = `<div class="empty">${esc(e.message)}</div>`; }
}

function renderGlance(o) {
  const failed = o.failed_24h;
  $("#glance-counters").innerHTML = [
    ["running", o.running, "RUNNING"], ["queued", o.queued, "ENQUEUED"], ["stalled", o.stalled, "CHAIN_STALLED"],
    ["failed 24 h", failed, "FAILED"], ["succeeded 24 h", o.succeeded_24h, "SUCCEEDED"],
  ].map(([k, v, st]) => `<a class="counter ${stateClass(st)}-c" data-counter="${esc(k)}" href="#/" data-filter="${esc(st)}"><b>${esc(v)}</b><span>${esc(k)}</span></a>`).join("");
  $$("#glance-counters .counter").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    const st = a.dataset.filter === "ENQUEUED" ? "" : a.dataset.filter;
    const chip = $$("#state-chips .chip").find((c) => c.dataset.state === st);
    if (chip) chip.click();
  }));
  // Jobs ended per hour, stacked by outcome.
  const W = 520, H = 90, bottom = 16;
  const max = Math.max(1, ...o.hours.map((h) => h.succeeded + h.failed + h.stopped));
  const bw = W / o.hours.length;
  const parts = [`<svg xmlns="${SVGNS}" class="hours-chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="9">`];
  o.hours.forEach((h, i) => {
    let y = H - bottom;
    const x = i * bw + 1;
    const bars = [["succeeded", h.succeeded, STATE_COLORS.SUCCEEDED], ["failed", h.failed, STATE_COLORS.FAILED], ["stopped", h.stopped, STATE_COLORS.STOPPED]].map(([k, v, c]) => {
      const hh = (v / max) * (H - bottom - 6);
      y -= hh;
      return v ? `<rect class="hour-${k}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${hh.toFixed(1)}" fill="${c}"/>` : "";
    }).join("");
    const label = new Date(h.hour).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    parts.push(`<g class="hour"><title>${esc(`${label}: ${h.succeeded} succeeded, ${h.failed} failed, ${h.stopped} stopped`)}</title><rect x="${x.toFixed(1)}" y="0" width="${(bw - 2).toFixed(1)}" height="${H - bottom}" fill="transparent"/>${bars}</g>`);
    if (i % 6 === 0 || i === o.hours.length - 1) parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${H - 4}" text-anchor="middle" fill="#64748b">${esc(i === o.hours.length - 1 ? "now" : label)}</text>`);
  });
  parts.push(`<line x1="0" x2="${W}" y1="${H - bottom}" y2="${H - bottom}" stroke="#cbd5e1"/></svg>`);
  $("#glance-hours").innerHTML = parts.join("");
  $("#glance-groups").innerHTML = o.groups.length ? `<table class="grid"><thead><tr><th>Group</th><th>Limit</th><th>Running</th><th>Queued</th><th></th></tr></thead><tbody>${o.groups.map((g) => {
    const pct = g.max_running ? Math.min(100, (100 * g.running) / g.max_running) : 0;
    return `<tr data-group="${esc(g.group_name)}"><td><b>${esc(g.group_name)}</b></td><td>${g.max_running ?? "none"}</td><td>${g.running}</td><td>${g.queued}</td><td style="min-width:120px">${g.max_running ? `<div class="bar${pct >= 100 ? " bad" : ""}" title="${g.running} of ${g.max_running}"><div style="width:${pct.toFixed(0)}%"></div></div>` : ""}</td></tr>`;
  }).join("")}</tbody></table>` : `<div class="muted-note">No resource groups are defined.</div>`;
  renderGlanceEngines();
}

// Engines sharing a database, with their heartbeat and jobs (hidden with a single engine).
function renderGlanceEngines() {
  if (!$("#glance-engines")) return;
  const engines = ui.engines || [];
  $("#glance-engines-wrap").classList.toggle("hidden", !engines.length);
  $("#glance-engines").innerHTML = engines.map((e) => {
    const alive = e.alive === "TRUE";
    return `<div class="engine-card ${alive ? "alive" : "dead"}" data-engine="${esc(e.engine_id)}"><b>${esc(e.host || e.engine_id)}${e.pid ? " · " + esc(e.pid) : ""}</b><span>${esc(e.role || "")}</span><span>${alive ? "alive" : "no heartbeat"} · ${esc(fmtDur(e.heartbeat_age))} ago</span><span>${esc(e.jobs_owned)} job(s)</span></div>`;
  }).join("");
}
