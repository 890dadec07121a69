"use strict";
// chainsched dashboard: plain JavaScript over the HTTP API (/api/v1) and its event stream.
// Everything shown comes from the same view rows the CLI prints.

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const stateClass = (s) => "st-" + String(s || "").replace(/\s+/g, "_");

const STATE_COLORS = {
  NOT_STARTED: "#94a3b8", SCHEDULED: "#6366f1", RUNNING: "#2563eb", "RETRY SCHEDULED": "#f59e0b",
  PAUSED: "#a855f7", STALLED: "#ea580c", SUCCEEDED: "#16a34a", FAILED: "#dc2626", STOPPED: "#475569",
};

const ui = {
  jobs: new Map(),
  selected: null,
  steps: [],
  explain: null,
  tab: "steps",
  search: "",
  stateFilter: "",
  svgCache: new Map(),
  token: localStorage.getItem("chainsched.token") || "",
  refreshTimer: null,
  chains: [],
  schedules: [],
  engines: [],
  executions: [],
  schedulesTimer: null,
};

// ------------------------------------------------------------------ API

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  if (!r.ok) throw await apiError(r);
  return r.json();
}

async function apiText(path) {
  const r = await fetch(path);
  if (!r.ok) throw await apiError(r);
  return r.text();
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (ui.token) headers.Authorization = "Bearer " + ui.token;
  const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
  if (!r.ok) {
    const e = await apiError(r);
    if (r.status === 401) { toast(e.message + " — set the token (Token button).", true); }
    throw e;
  }
  return r.json();
}

async function apiError(r) {
  let msg = "HTTP " + r.status;
  try { const j = await r.json(); if (j && j.error) msg = j.error.message; } catch (_) { /* not JSON */ }
  const e = new Error(msg); e.status = r.status; return e;
}

function toast(text, err) {
  const t = document.createElement("div");
  t.className = "toast" + (err ? " err" : "");
  t.textContent = text;
  $("#toasts").appendChild(t);
  setTimeout(() => t.remove(), err ? 7000 : 3500);
}

// ------------------------------------------------------------------ formatting

function badge(state) {
  return `<span class="badge ${stateClass(state)}">${esc(state)}</span>`;
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? d.toLocaleTimeString([], { hour12: false }) : d.toLocaleString([], { hour12: false });
}

function fmtDur(s) {
  if (s === null || s === undefined) return "";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 60) return (Math.round(s * 10) / 10) + " s";
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  if (m < 60) return `${m}m ${sec}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function progressBar(sofar, total, state) {
  if (sofar !== null && sofar !== undefined && total) {
    const pct = Math.max(0, Math.min(100, (100 * sofar) / total));
    const cls = state === "SUCCEEDED" ? " done" : state === "FAILED" ? " bad" : "";
    return `<div class="bar${cls}" title="${sofar} / ${total}"><div style="width:${pct.toFixed(1)}%"></div></div>`;
  }
  if (state === "RUNNING") return `<div class="bar indeterminate"><div></div></div>`;
  return "";
}

// ------------------------------------------------------------------ jobs list

async function loadJobs() {
  const schedules = loadSchedules(); // the schedules panel refreshes with the jobs list
  loadEngines(); // and so does the engines panel (engines sharing a database)
  loadExecutions(); // and the executions panel (APEX status names)
  try {
    const rows = await api("/api/v1/jobs?limit=300");
    ui.jobs = new Map(rows.map((r) => [r.job_name, r]));
    renderJobs();
  } catch (e) { toast("cannot list jobs: " + e.message, true); }
  await schedules;
  renderSchedules(); // again: which schedules have a run to open depends on the jobs
}

function sortedJobs() {
  const active = (s) => (s === "RUNNING" || s === "CHAIN_STALLED" || s === "ENQUEUED" ? 0 : 1);
  return Array.from(ui.jobs.values()).sort((a, b) =>
    active(a.state) - active(b.state) || String(b.started_at || b.enqueued_at || "").localeCompare(String(a.started_at || a.enqueued_at || "")) || a.job_name.localeCompare(b.job_name));
}

function renderJobs() {
  const list = $("#jobs");
  const q = ui.search.toLowerCase();
  const rows = sortedJobs().filter((j) =>
    (!ui.stateFilter || j.state === ui.stateFilter) &&
    (!q || j.job_name.toLowerCase().includes(q) || j.chain_name.toLowerCase().includes(q)));
  list.innerHTML = rows.map((j) => `
    <li data-job="${esc(j.job_name)}" class="${j.job_name === ui.selected ? "selected" : ""}">
      <span class="name" title="${esc(j.job_name)}">${esc(j.job_name)}</span>${badge(j.state)}
      <span class="sub"><span>${esc(j.chain_name)}</span><span>${esc(fmtDate(j.started_at || j.enqueued_at))}</span>
        <span>${j.run_duration !== null ? esc(fmtDur(j.run_duration)) : ""}</span>
        ${j.error_code ? `<span>code ${esc(j.error_code)}</span>` : ""}</span>
      ${j.state === "RUNNING" ? `<span class="bar-wrap" style="grid-column:1/3">${progressBar(j.sofar, j.totalwork, j.state)}</span>` : ""}
    </li>`).join("");
  $("#jobs-empty").classList.toggle("hidden", ui.jobs.size > 0);
  $$("#jobs li").forEach((li) => li.addEventListener("click", () => { location.hash = "#/job/" + encodeURIComponent(li.dataset.job); }));
}

// ------------------------------------------------------------------ schedules

// "in 1 m 20 s", "in 3 h 5 m", "12 s ago": the two largest units of a time difference.
function fmtRelative(iso, now = Date.now()) {
  if (!iso) return "";
  const ms = new Date(iso).getTime() - now;
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 1) return "now";
  const vals = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const names = ["d", "h", "m", "s"];
  const i = vals.findIndex((v) => v > 0);
  const text = [i, i + 1].filter((k) => k < 4 && vals[k] > 0).map((k) => `${vals[k]} ${names[k]}`).join(" ");
  return ms > 0 ? "in " + text : text + " ago";
}

// Local time, then the RFC 3339 UTC instant the views carry (tooltips).
function fmtAbsolute(iso) {
  if (!iso) return "";
  return `${new Date(iso).toLocaleString([], { hour12: false })} (${iso})`;
}

function nextRunText(iso) {
  return new Date(iso).getTime() <= Date.now() ? "due now" : fmtRelative(iso);
}

async function loadSchedules() {
  try { ui.schedules = await api("/api/v1/schedules"); }
  catch (_) { ui.schedules = []; } // not worth a toast every refresh: the panel hides until the next one
  renderSchedules();
}

function renderSchedules() {
  $("#schedules").classList.toggle("hidden", !ui.schedules.length);
  $("#schedules-count").textContent = ui.schedules.length;
  $("#schedule-list").innerHTML = ui.schedules.map((s) => {
    const next = s.next_run_date
      ? `<span class="next" data-next="${esc(s.next_run_date)}" title="next run ${esc(fmtAbsolute(s.next_run_date))}">${esc(nextRunText(s.next_run_date))}</span>`
      : `<span class="next none" title="the schedule has no further occurrence">no next run</span>`;
    const last = s.last_start_date
      ? `<span class="last" title="last start ${esc(fmtAbsolute(s.last_start_date))}">last ${esc(fmtDate(s.last_start_date))}</span>`
      : `<span class="last">never started</span>`;
    const skipped = `<span class="${s.skipped_count ? "skipped" : ""}" title="occurrences skipped because the previous run had not ended">${esc(s.skipped_count)} skipped</span>`;
    return `<li data-schedule="${esc(s.job_name)}" class="${ui.jobs.has(s.job_name) ? "has-run" : ""}">
      <span class="name" title="${esc(s.job_name)}">${esc(s.job_name)}</span>${next}
      <span class="rule mono" title="${esc(s.schedule)}">${esc(s.schedule)}</span>
      <span class="sub">${s.chain_name ? `<span>${esc(s.chain_name)}</span>` : ""}${last}${skipped}</span></li>`;
  }).join("");
  $$("#schedule-list li.has-run").forEach((li) => li.addEventListener("click", () => { location.hash = "#/job/" + encodeURIComponent(li.dataset.schedule); }));
}

// Relative next-run times move on between refreshes.
function tickSchedules() {
  $$("#schedule-list .next[data-next]").forEach((el) => { el.textContent = nextRunText(el.dataset.next); });
}

function refreshSchedulesSoon() {
  if (ui.schedulesTimer) return;
  ui.schedulesTimer = setTimeout(() => { ui.schedulesTimer = null; loadSchedules(); }, 300);
}

// ------------------------------------------------------------------ engines

// Engines sharing a PostgreSQL database (GET /api/v1/engines): hidden on a store one engine
// owns (the list is empty there).
async function loadEngines() {
  try { ui.engines = await api("/api/v1/engines"); }
  catch (_) { ui.engines = []; }
  renderEngines();
}

function renderEngines() {
  renderGlanceEngines();
  $("#engines").classList.toggle("hidden", !ui.engines.length);
  $("#engines-count").textContent = ui.engines.length;
  $("#engine-list").innerHTML = ui.engines.map((e) => {
    const alive = e.alive === "TRUE";
    const beat = `<span class="${alive ? "next" : "next dead"}" title="last heartbeat ${esc(fmtAbsolute(e.last_heartbeat))}">${alive ? "alive" : "no heartbeat"} · ${esc(fmtDur(e.heartbeat_age))} ago</span>`;
    return `<li data-engine="${esc(e.engine_id)}" data-alive="${alive ? "true" : "false"}">
      <span class="name mono" title="engine ${esc(e.engine_id)} (slot ${esc(e.slot)})">${esc(e.engine_id)}</span>${beat}
      <span class="sub"><span>${esc(e.role)}</span><span>${esc(e.host)}:${esc(e.pid)}</span>${e.address ? `<span>${esc(e.address)}</span>` : ""}
        <span class="owned" title="unexpired job leases">${esc(e.jobs_owned)} job${e.jobs_owned === 1 ? "" : "s"}</span></span></li>`;
  }).join("");
}

// ------------------------------------------------------------------ executions

// Unfinished jobs with APEX's status names (GET /api/v1/executions): ENQUEUED, SCHEDULED,
// EXECUTING, with the last status message, SOFAR/TOTALWORK and the queue wait.
async function loadExecutions() {
  try { ui.executions = await api("/api/v1/executions?status=ENQUEUED,SCHEDULED,EXECUTING&limit=50"); }
  catch (_) { ui.executions = []; }
  renderExecutions();
}

function renderExecutions() {
  const rows = ui.executions || [];
  $("#executions").classList.toggle("hidden", !rows.length);
  $("#executions-count").textContent = rows.length;
  $("#execution-list").innerHTML = rows.map((x) => {
    const work = x.totalwork ? `<span class="mono">${esc(x.sofar ?? 0)}/${esc(x.totalwork)}</span>` : "";
    const wait = x.queue_wait ? `<span title="queue wait">waited ${esc(fmtDur(x.queue_wait))}</span>` : "";
    return `<li data-execution="${esc(x.job_name)}">
      <span class="name" title="${esc(x.job_name)}">${esc(x.job_name)}</span><span class="next" title="APEX status (state ${esc(x.state)})">${esc(x.status)}</span>
      <span class="sub"><span>${esc(x.chain_name)}</span>${work}${wait}${x.status_message ? `<span class="msg" title="${esc(x.status_message)}">${esc(x.status_message)}</span>` : ""}</span></li>`;
  }).join("");
  $$("#execution-list li").forEach((li) => li.addEventListener("click", () => { location.hash = "#/job/" + encodeURIComponent(li.dataset.execution); }));
}

// ------------------------------------------------------------------ one job

async function loadDetail(name, quiet) {
  const enc = encodeURIComponent(name);
  try {
    const [job, steps, timeline, explain, log] = await Promise.all([
      api(`/api/v1/jobs/${enc}`),
      api(`/api/v1/jobs/${enc}/steps?history=true`),
      api(`/api/v1/jobs/${enc}/timeline`),
      api(`/api/v1/jobs/${enc}/explain`),
      api(`/api/v1/log?job=${enc}`),
    ]);
    if (ui.selected !== name) return;
    ui.jobs.set(job.job_name, job);
    ui.steps = steps;
    ui.explain = explain;
    renderJobHead(job);
    renderSteps();
    renderTimeline(timeline);
    renderRules(explain);
    renderLog(log);
    renderJobs();
    if (ui.tab === "gantt") loadGantt(name);
    await renderGraph(job.chain_name);
  } catch (e) {
    if (!quiet) toast(`cannot show job ${name}: ${e.message}`, true);
  }
}

function scheduleRefresh(delay = 300) {
  if (ui.refreshTimer) return;
  ui.refreshTimer = setTimeout(() => {
    ui.refreshTimer = null;
    if (ui.selected) loadDetail(ui.selected, true);
  }, delay);
}

function renderJobHead(j) {
  $("#job-title").innerHTML = `${esc(j.job_name)} ${badge(j.state)}`;
  const params = Object.entries(j.parameters || {}).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(", ");
  const bits = [
    ["chain", `<a href="#/chain/${encodeURIComponent(j.chain_name)}" class="chainlink">${esc(j.chain_name)}</a>`],
    ["started", esc(fmtDate(j.started_at))],
    j.ended_at ? ["ended", esc(fmtDate(j.ended_at))] : null,
    ["run", esc(fmtDur(j.run_duration))],
    j.wait_duration ? ["waited", esc(fmtDur(j.wait_duration))] : null,
    j.error_code !== null && j.error_code !== undefined ? ["error code", esc(j.error_code)] : null,
    params ? ["parameters", params] : null,
    j.group ? ["group", esc(j.group)] : null,
    j.current_steps && j.current_steps.length ? ["running", esc(j.current_steps.join(", "))] : null,
  ].filter(Boolean);
  $("#job-meta").innerHTML = bits.map(([k, v]) => `<span>${k} <b>${v}</b></span>`).join("");
  const pb = $("#job-progress");
  if (j.totalwork) {
    const pct = Math.min(100, (100 * (j.sofar || 0)) / j.totalwork);
    pb.classList.remove("hidden");
    pb.firstElementChild.style.width = pct.toFixed(1) + "%";
    pb.lastElementChild.textContent = `${j.sofar} / ${j.totalwork}`;
  } else pb.classList.add("hidden");
  const stall = $("#stall");
  if (j.state === "CHAIN_STALLED") {
    stall.classList.remove("hidden");
    $("p", stall).textContent = (ui.explain && ui.explain.reason) || j.stall_reason || "the chain cannot move on";
  } else stall.classList.add("hidden");
  renderVariables(j);
  const active = j.state === "RUNNING" || j.state === "CHAIN_STALLED";
  ["#act-evaluate", "#act-alter", "#act-stop"].forEach((s) => { $(s).disabled = !active; });
  // An ended FAILED or STOPPED job can be restarted in place (docs/operations.md).
  $("#act-restart").disabled = !(j.state === "FAILED" || j.state === "STOPPED");
}

// The job's variables: parameters, overridden by what steps set (docs/variables.md).
function renderVariables(j) {
  const table = $("#variables");
  const vars = Object.entries(j.variables || {});
  table.classList.toggle("hidden", !vars.length);
  const setBy = j.variables_set_by || {};
  $("tbody", table).innerHTML = vars.map(([k, v]) =>
    `<tr data-var="${esc(k)}"><td class="mono">${esc(k)}</td><td class="mono">${esc(v)}</td><td>${setBy[k] ? esc(setBy[k]) : '<span class="muted">parameter</span>'}</td></tr>`).join("");
}

function renderSteps() {
  const tb = $("#steps tbody");
  if (!ui.steps.length) { tb.innerHTML = `<tr><td colspan="8" class="empty">No steps recorded.</td></tr>`; return; }
  tb.innerHTML = ui.steps.map((s) => {
    const depth = s.step_job_subname.split(".").length - 1;
    const on = (v) => v === true || v === "TRUE"; // view flags are Oracle-style "TRUE"/"FALSE"
    const flags = [on(s.skip) && "skip", on(s.pause) && "pause", on(s.pause_before) && "pause_before", on(s.restart_on_failure) && "retry", on(s.restart_on_recovery) && "recovery"]
      .filter(Boolean).map((f) => `<span class="flag">${f}</span>`).join("");
    const pct = s.totalwork ? `<span class="mono">${s.sofar ?? 0}/${s.totalwork}</span>` : "";
    return `<tr data-sub="${esc(s.step_job_subname)}" data-log="${esc(s.step_job_log_id ?? "")}" class="${s.step_job_log_id ? "clickable" : ""}">
      <td><span class="indent" style="width:${depth * 18}px">${depth ? "└" : ""}</span><span class="stepname">${esc(s.step_name)}<span class="chain">${esc(s.step_job_subname !== s.step_name ? s.step_job_subname : "")}</span></span></td>
      <td>${badge(s.state)}</td>
      <td style="min-width:160px">${progressBar(s.sofar, s.totalwork, s.state)} ${pct}${s.status_message ? `<div class="msg">${esc(s.status_message)}</div>` : ""}</td>
      <td>${esc(s.attempt)}</td>
      <td>${esc(fmtTime(s.start_date))}</td>
      <td>${esc(fmtDur(s.duration))}</td>
      <td>${s.error_code ?? ""}</td>
      <td>${flags}</td></tr>`;
  }).join("");
  $$("#steps tr.clickable").forEach((tr) => tr.addEventListener("click", () => { showTab("log"); showDetails(tr.dataset.log); }));
  colorGraph();
}

async function renderGraph(chain) {
  const box = $("#graph");
  if (!chain) { box.innerHTML = ""; return; }
  const key = chain + "|" + Array.from(collapsedOf(chain)).join(",");
  if (box.dataset.chain !== key) {
    let svg;
    try { svg = await fetchGraph(chain); }
    catch (e) { box.innerHTML = `<div class="empty">${esc(e.message)}</div>`; return; }
    box.innerHTML = svg;
    box.dataset.chain = key;
    wireGraph(box, chain, () => renderGraph(chain));
  }
  colorGraph();
  $("#legend").innerHTML = Object.keys(STATE_COLORS).map(badge).join("");
}

// Each step (nested ones by their subname, e.g. FUND.TRANSFER) in the colour of its state now.
function colorGraph() {
  const bySub = new Map(ui.steps.map((s) => [s.step_job_subname, s]));
  $$("#graph g.step").forEach((g) => {
    const s = bySub.get(g.dataset.step);
    const color = s ? STATE_COLORS[s.state] : null;
    $$(".shape", g).forEach((shape) => {
      shape.setAttribute("fill", color ? color + "22" : "#f8fafc");
      shape.setAttribute("stroke", color || "#94a3b8");
      shape.setAttribute("stroke-width", s && s.state === "RUNNING" ? "3" : "1.5");
    });
    g.dataset.state = s ? s.state : "";
    const sub = $("text.sub", g);
    if (sub && s) sub.textContent = s.state + (s.error_code ? " " + s.error_code : "");
    let title = $("title", g);
    if (!title) { title = document.createElementNS("http://www.w3.org/2000/svg", "title"); g.appendChild(title); }
    title.textContent = s ? `${s.step_job_subname}: ${s.state}` : g.dataset.step;
  });
}

// How a step was started (rule, start_steps, retry, recovery, restart, after, event).
function startedBy(r) {
  if (!r.started_by) return "";
  const how = r.by_rule ? (r.started_by === "rule" ? `rule ${r.by_rule}` : `${r.started_by}, rule ${r.by_rule}`) : r.started_by;
  return ` <span class="started-by">started by ${esc(how)}</span>`;
}

function renderTimeline(rows) {
  $("#timeline").innerHTML = rows.map((r) => `<li class="k-${esc(r.kind)}"><time>${esc(fmtTime(r.time))}</time><span class="kind">${esc(r.kind)}</span>${r.job_subname ? `<b>${esc(r.job_subname)}</b> ` : ""}${esc(r.detail)}${startedBy(r)}</li>`).join("") || `<li>No events yet.</li>`;
}

function renderRules(e) {
  const tb = $("#rules tbody");
  if (!e || !e.rules.length) { tb.innerHTML = `<tr><td colspan="6" class="empty">No rules.</td></tr>`; return; }
  tb.innerHTML = e.rules.map((r) => `<tr>
    <td>${esc(r.position)}</td>
    <td><b>${esc(r.rule_name)}</b>${r.job_subname ? `<div class="msg">in ${esc(r.job_subname)} (${esc(r.chain_name)})</div>` : ""}</td>
    <td><div class="mono">${esc(r.condition)}</div><div>${r.predicates.map((p) => `<span class="pred ${esc(p.value)}" title="${esc(p.value)}">${esc(p.predicate)}</span>`).join("")}</div></td>
    <td><span class="truth ${esc(r.value)}">${esc(r.value)}</span></td>
    <td>${r.fired ? "✔" : ""}</td>
    <td class="mono">${esc(r.action)}</td></tr>`).join("");
}

function renderLog(rows) {
  const tb = $("#joblog tbody");
  tb.innerHTML = rows.map((r) => `<tr class="clickable" data-log="${esc(r.log_id)}">
    <td>${esc(r.log_id)}</td><td>${esc(fmtTime(r.log_date))}</td><td>${esc(r.job_subname || "(job)")}</td>
    <td>${esc(r.operation)}</td><td>${badge(r.status)}</td><td>${esc(r.error_code)}</td><td class="mono">${esc(r.additional_info || "")}</td></tr>`).join("")
    || `<tr><td colspan="7" class="empty">No runs logged yet.</td></tr>`;
  $$("#joblog tr.clickable").forEach((tr) => tr.addEventListener("click", () => showDetails(tr.dataset.log)));
}

async function showDetails(logId) {
  if (!logId) return;
  const pre = $("#run-details");
  try {
    const d = await api(`/api/v1/log/${encodeURIComponent(logId)}`);
    pre.textContent = `log ${d.log_id}  ${d.job_name}${d.job_subname ? " / " + d.job_subname : ""}  ${d.status} (${d.error_code})\n` +
      `requested ${d.req_start_date || "-"}  started ${d.actual_start_date || "-"}  ran ${fmtDur(d.run_duration)}${d.pid ? "  pid " + d.pid : ""}\n\n` +
      `--- output ---\n${d.output || "(none)"}\n--- errors ---\n${d.errors || "(none)"}`;
    pre.classList.remove("hidden");
  } catch (e) { toast(e.message, true); }
}

function showTab(tab, remember) {
  ui.tab = tab;
  if (remember && ui.selected) history.replaceState(null, "", "#/job/" + encodeURIComponent(ui.selected) + "/" + tab);
  $$("#job-tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  $$("#detail-body .tab").forEach((t) => t.classList.toggle("hidden", t.id !== "tab-" + tab));
  if (tab === "gantt" && remember && ui.selected) loadGantt(ui.selected);
}

// ------------------------------------------------------------------ chains, stats

async function loadChains() {
  try {
    ui.chains = await api("/api/v1/chains");
    const box = $("#chains");
    box.innerHTML = ui.chains.map((c) => `<div class="card"><h3><a href="#/chain/${encodeURIComponent(c.chain_name)}" class="chainlink">${esc(c.chain_name)}</a><button class="btn" data-start="${esc(c.chain_name)}">Start</button></h3>
      <div class="sub">${[c.comments, `${c.number_of_steps} steps`, `${c.number_of_rules} rules`, c.evaluation_interval ? "every " + fmtDur(c.evaluation_interval) : null, c.source].filter(Boolean).map(esc).join(" · ")}</div>
      <div class="graph" data-graph="${esc(c.chain_name)}"></div></div>`).join("") || `<div class="empty">No chains in the catalog.</div>`;
    for (const c of ui.chains) {
      const el = $(`[data-graph="${CSS.escape(c.chain_name)}"]`);
      apiText(`/api/v1/chains/${encodeURIComponent(c.chain_name)}/graph.svg`).then((svg) => { el.innerHTML = svg; }).catch(() => {});
    }
    $$("#chains [data-start]").forEach((b) => b.addEventListener("click", () => startDialog(b.dataset.start)));
  } catch (e) { toast("cannot list chains: " + e.message, true); }
}

async function loadStats() {
  try {
    const rows = await api("/api/v1/stats");
    $("#stats tbody").innerHTML = rows.map((r) => `<tr><td><b>${esc(r.chain_name)}</b></td><td>${esc(r.step_name || "(chain)")}</td>
      <td>${r.runs}</td><td>${r.succeeded}</td><td>${r.failed}</td><td>${r.stopped}</td>
      <td>${fmtDur(r.avg_run_duration)}</td><td>${fmtDur(r.p50_run_duration)}</td><td>${fmtDur(r.p90_run_duration)}</td><td>${fmtDur(r.max_run_duration)}</td>
      <td>${fmtDur(r.avg_wait_duration)}</td><td>${fmtDur(r.p90_wait_duration)}</td></tr>`).join("") || `<tr><td colspan="12" class="empty">No runs yet.</td></tr>`;
  } catch (e) { toast("cannot load stats: " + e.message, true); }
}

// ------------------------------------------------------------------ dialogs and actions

function dialog(title, fields, okText) {
  return new Promise((resolve) => {
    const dlg = $("#dlg");
    $("#dlg-title").textContent = title;
    $("#dlg-fields").innerHTML = fields;
    $("#dlg-ok").textContent = okText || "OK";
    dlg.returnValue = "";
    dlg.onclose = () => resolve(dlg.returnValue === "ok" ? dlg : null);
    dlg.showModal();
  });
}

function stepOptions(all) {
  const opts = ui.steps.map((s) => `<option value="${esc(s.step_job_subname)}">${esc(s.step_job_subname)} (${esc(s.state)})</option>`).join("");
  return (all ? `<option value="">${esc(all)}</option>` : "") + opts;
}

async function act(label, fn) {
  try { await fn(); toast(label); scheduleRefresh(50); loadJobs(); } catch (e) { toast(e.message, true); }
}

async function startDialog(chain) {
  if (!ui.chains.length) { try { ui.chains = await api("/api/v1/chains"); } catch (_) { /* shown below */ } }
  const opts = ui.chains.map((c) => `<option ${c.chain_name === chain ? "selected" : ""}>${esc(c.chain_name)}</option>`).join("");
  const d = await dialog("Start a chain job", `
    <label>Chain</label><select name="chain">${opts}</select>
    <label>Job name (optional)</label><input name="job" placeholder="generated when empty">
    <label>Parameters (NAME=VALUE, one per line)</label><textarea name="params"></textarea>`, "Start");
  if (!d) return;
  const f = $("#dlg-form");
  const parameters = {};
  for (const line of f.params.value.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) parameters[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  try {
    const r = await post("/api/v1/jobs", { chain: f.chain.value, job: f.job.value.trim() || undefined, parameters });
    toast("started " + r.job);
    await loadJobs();
    location.hash = "#/job/" + encodeURIComponent(r.job);
  } catch (e) { toast(e.message, true); }
}

async function alterDialog() {
  const tri = (n) => `<select name="${n}"><option value="">unchanged</option><option value="true">true</option><option value="false">false</option></select>`;
  const d = await dialog(`Alter ${ui.selected}`, `
    <label>Step</label><select name="step">${stepOptions("all steps")}</select>
    <div class="row2"><div><label>pause</label>${tri("pause")}</div><div><label>pause_before</label>${tri("pause_before")}</div></div>
    <div class="row2"><div><label>skip</label>${tri("skip")}</div><div><label>state</label>
      <select name="state"><option value="">unchanged</option><option>SUCCEEDED</option><option>NOT_STARTED</option><option value="FAILED">FAILED (code below)</option></select></div></div>
    <label>error code for FAILED</label><input name="code" type="number" min="1" value="20100">
    <label><input type="checkbox" name="evaluate" checked style="width:auto"> evaluate the chain afterwards</label>`, "Alter");
  if (!d) return;
  const f = $("#dlg-form");
  const body = {};
  if (f.step.value) body.step = f.step.value;
  for (const k of ["pause", "pause_before", "skip"]) if (f[k].value) body[k] = f[k].value === "true";
  if (f.state.value) body.state = f.state.value === "FAILED" ? `FAILED ${f.code.value}` : f.state.value;
  body.evaluate = f.evaluate.checked;
  act(`altered ${ui.selected}`, () => post(`/api/v1/jobs/${encodeURIComponent(ui.selected)}/alter`, body));
}

async function stopDialog() {
  const d = await dialog(`Stop ${ui.selected}`, `<label>What to stop</label><select name="step">${stepOptions("the whole job")}</select>`, "Stop");
  if (!d) return;
  const step = $("#dlg-form").step.value;
  act(step ? `stopped ${step}` : `stopped ${ui.selected}`, () => post(`/api/v1/jobs/${encodeURIComponent(ui.selected)}/stop`, step ? { step } : {}));
}

async function eventDialog() {
  const d = await dialog("Raise an event", `
    <label>Event name</label><input name="name" required>
    <label>Only job (optional)</label><input name="job" value="${esc(ui.selected || "")}">
    <label>Payload (JSON, optional)</label><textarea name="payload" placeholder='{"file": "sales.csv"}'></textarea>`, "Raise");
  if (!d) return;
  const f = $("#dlg-form");
  let payload;
  if (f.payload.value.trim()) {
    try { payload = JSON.parse(f.payload.value); } catch (e) { toast("payload is not JSON: " + e.message, true); return; }
  }
  const body = { name: f.name.value.trim() };
  if (f.job.value.trim()) body.job = f.job.value.trim();
  if (payload !== undefined) body.payload = payload;
  try { const r = await post("/api/v1/events", body); toast(`event ${body.name}: ${r.completed_steps} step(s) completed`); scheduleRefresh(50); }
  catch (e) { toast(e.message, true); }
}

async function tokenDialog() {
  const d = await dialog("Bearer token", `<label>Token for changes (kept in this browser)</label><input name="token" type="password" value="${esc(ui.token)}" autocomplete="off">`, "Save");
  if (!d) return;
  ui.token = $("#dlg-form").token.value.trim();
  localStorage.setItem("chainsched.token", ui.token);
  toast(ui.token ? "token saved" : "token cleared");
}

// ------------------------------------------------------------------ live updates

function connectEvents() {
  const live = $("#live");
  if (!window.EventSource || new URLSearchParams(location.search).has("nolive")) {
    $("span", live).textContent = "static";
    return;
  }
  const es = new EventSource("/api/v1/events/stream");
  const setLive = (on) => { live.classList.toggle("on", on); live.classList.toggle("off", !on); $("span", live).textContent = on ? "live" : "reconnecting"; };
  es.addEventListener("ready", () => { setLive(true); loadJobs(); });
  es.onerror = () => setLive(false);
  es.addEventListener("job", (ev) => {
    const row = JSON.parse(ev.data);
    const old = ui.jobs.get(row.job_name);
    if (old) { row.current_steps = row.current_steps.length ? row.current_steps : old.current_steps; row.sofar = row.sofar ?? old.sofar; row.totalwork = row.totalwork ?? old.totalwork; }
    ui.jobs.set(row.job_name, row);
    renderJobs();
    if (row.job_name === ui.selected) scheduleRefresh();
    // A scheduled run started or ended: its last start (and next run) moved.
    if (ui.schedules.some((s) => s.job_name === row.job_name)) refreshSchedulesSoon();
  });
  es.addEventListener("step", (ev) => {
    const row = JSON.parse(ev.data);
    if (row.job_name !== ui.selected) return;
    const i = ui.steps.findIndex((s) => s.step_job_subname === row.step_job_subname);
    if (i >= 0) { row.sofar = row.sofar ?? ui.steps[i].sofar; row.totalwork = row.totalwork ?? ui.steps[i].totalwork; row.status_message = row.status_message ?? ui.steps[i].status_message; ui.steps[i] = row; }
    else ui.steps.push(row);
    renderSteps();
    scheduleRefresh();
  });
  es.addEventListener("progress", (ev) => {
    const p = JSON.parse(ev.data);
    if (p.job_name !== ui.selected) return;
    const s = ui.steps.find((x) => x.step_job_subname === p.step_job_subname);
    if (s) { Object.assign(s, { sofar: p.sofar, totalwork: p.totalwork, status_message: p.status_message }); renderSteps(); }
  });
  es.addEventListener("log", (ev) => { const r = JSON.parse(ev.data); if (r.job_name === ui.selected) scheduleRefresh(); });
}

// ------------------------------------------------------------------ routing

function route() {
  const h = location.hash || "#/";
  const view = h.startsWith("#/chains") ? "chains" : h.startsWith("#/chain/") ? "chain" : h.startsWith("#/stats") ? "stats" : "jobs";
  ["jobs", "chains", "chain", "stats"].forEach((v) => $("#view-" + v).classList.toggle("hidden", v !== view));
  ["jobs", "chains", "stats"].forEach((v) => $("#nav-" + v).classList.toggle("active", v === view || (v === "chains" && view === "chain")));
  if (view === "chains") loadChains();
  if (view === "chain") loadChainPage(decodeURIComponent(h.slice("#/chain/".length)));
  if (view === "stats") loadStats();
  if (view === "jobs") {
    const m = h.match(/^#\/job\/([^/]+)(?:\/(steps|graph|gantt|timeline|rules|log))?$/);
    const name = m ? decodeURIComponent(m[1]) : null;
    if (m && m[2]) showTab(m[2]);
    if (name === ui.selected && name) return;
    ui.selected = name;
    $("#detail-empty").classList.toggle("hidden", !!ui.selected);
    $("#detail-body").classList.toggle("hidden", !ui.selected);
    $("#run-details").classList.add("hidden");
    renderJobs();
    if (ui.selected) loadDetail(ui.selected);
    else loadGlance(true);
  }
}

function init() {
  $("#job-search").addEventListener("input", (e) => { ui.search = e.target.value; renderJobs(); });
  $$("#state-chips .chip").forEach((c) => c.addEventListener("click", () => {
    ui.stateFilter = c.dataset.state;
    $$("#state-chips .chip").forEach((x) => x.classList.toggle("active", x === c));
    renderJobs();
  }));
  $$("#job-tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab, true)));
  $("#btn-start").addEventListener("click", () => startDialog());
  $("#btn-event").addEventListener("click", eventDialog);
  $("#btn-token").addEventListener("click", tokenDialog);
  $("#act-evaluate").addEventListener("click", () => act(`evaluated ${ui.selected}`, () => post(`/api/v1/jobs/${encodeURIComponent(ui.selected)}/evaluate`, {})));
  $("#act-alter").addEventListener("click", alterDialog);
  $("#act-stop").addEventListener("click", stopDialog);
  $("#act-restart").addEventListener("click", () => act(`restarted ${ui.selected}`, () => post(`/api/v1/jobs/${encodeURIComponent(ui.selected)}/restart`, {})));
  window.addEventListener("hashchange", route);
  $("#chain-runs").addEventListener("change", (e) => { const n = parseInt(e.target.value, 10); if (n > 0) { pic.runs = n; if (pic.chain) loadChainPage(pic.chain); } });
  loadJobs().then(route);
  connectEvents();
  // Durations of running jobs move on; refresh the list and an active job now and then.
  setInterval(() => {
    loadJobs();
    const j = ui.selected && ui.jobs.get(ui.selected);
    if (j && (j.state === "RUNNING" || j.state === "CHAIN_STALLED")) scheduleRefresh(0);
    if (!ui.selected) loadGlance();
  }, 5000);
  setInterval(tickSchedules, 1000);
}

init();
