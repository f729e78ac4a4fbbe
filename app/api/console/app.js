// chronorag console: plain JavaScript over the public /v1 API; no build step, no CDN.
// Everything from the server is put in the page with textContent, never as HTML.
"use strict";

const KEY_STORE = "chronorag.apiKey";
const SESSION_DOCS = "chronorag.sessionDocuments";
const SVG_NS = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;

// ------------------------------------------------------------------ small helpers

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

function day(iso) { return iso ? String(iso).slice(0, 10) : ""; }

function docLink(source) {
  // A fact's source is "doc_id@version"; the link is the document's status record.
  const at = source.lastIndexOf("@");
  const id = at > 0 ? source.slice(0, at) : source;
  return el("a", { href: "/v1/documents/" + encodeURIComponent(id), text: source,
                   className: "source" });
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  const opts = options || {};
  const headers = new Headers(opts.headers || {});
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers.set("X-API-Key", key);
  const resp = await fetch(path, { ...opts, headers });
  const type = resp.headers.get("content-type") || "";
  const body = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const detail = body && body.detail ? body.detail : String(body).slice(0, 300);
    const err = new Error(`${resp.status} ${body && body.title ? body.title : ""}: ${detail}`);
    err.status = resp.status;
    throw err;
  }
  return body;
}

function guarded(fn) {
  return async (event) => {
    if (event) event.preventDefault();
    showError("");
    try { await fn(event); } catch (err) { showError(err.message); }
  };
}

// ------------------------------------------------------------------ tabs

function selectTab(name, focus) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.id === "tab-" + name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (name === "documents") refreshDocuments().catch((e) => showError(e.message));
}

function setUpTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => selectTab(tab.id.slice(4)));
    tab.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) selectTab(tabs[(i + step + tabs.length) % tabs.length].id.slice(4), true);
    });
  });
}

// ------------------------------------------------------------------ Ask

function factRow(f) {
  const valid = `${day(f.valid_from) || "?"} → ${day(f.valid_to) || "open"}`;
  const sources = el("td", {});
  f.sources.forEach((s, i) => { if (i) sources.append(" "); sources.append(docLink(s)); });
  const entity = (name) => {
    const a = el("a", { href: "#timeline", text: name, className: "entity" });
    a.addEventListener("click", guarded(() => openTimeline(name)));
    return el("td", {}, a);
  };
  return el("tr", {}, entity(f.subject), el("td", { text: f.relation }), entity(f.object),
            el("td", { text: valid }), el("td", { text: day(f.known_from) }), sources);
}

async function ask() {
  const body = { question: $("question").value };
  if ($("as-of").value) body.as_of = $("as-of").value;
  if ($("valid-start").value) body.start = $("valid-start").value;
  if ($("valid-end").value) body.end = $("valid-end").value;
  const res = await api("/v1/query", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  $("answer").textContent = res.answer;
  const scope = $("time-scope");
  scope.replaceChildren();
  const s = res.time_scope;
  const rows = [["Source", s.source], ["Expression", s.expression || "—"],
                ["As of", day(s.as_of) || "now"], ["Valid from", day(s.start) || "—"],
                ["Valid to", day(s.end) || "—"]];
  for (const [k, v] of rows) scope.append(el("dt", { text: k }), el("dd", { text: v }));
  const list = $("evidence");
  list.replaceChildren();
  for (const ev of res.evidence) {
    const name = ev.title || ev.document_id;
    const link = ev.url ? el("a", { href: ev.url, text: name, rel: "noopener noreferrer" })
      : el("a", { href: "/v1/documents/" + encodeURIComponent(ev.document_id), text: name });
    list.append(el("li", { className: "evidence-item" },
      el("div", { className: "meta" }, link, " ",
         el("time", { datetime: ev.published_at, text: day(ev.published_at),
                      className: "published" }),
         ` · v${ev.version} · score ${ev.score.toFixed(3)}`),
      el("blockquote", { text: ev.text })));
  }
  if (!res.evidence.length) list.append(el("li", { text: "no evidence" }));
  const tbody = $("facts").tBodies[0];
  tbody.replaceChildren(...res.facts.map(factRow));
  if (!res.facts.length) {
    tbody.append(el("tr", {}, el("td", { colspan: "6", text: "no facts" })));
  }
  $("ask-result").hidden = false;
}

// ------------------------------------------------------------------ Documents

function sessionDocuments() {
  try { return JSON.parse(sessionStorage.getItem(SESSION_DOCS) || "[]"); }
  catch { return []; }
}

function rememberDocument(id) {
  const ids = sessionDocuments().filter((x) => x !== id);
  ids.unshift(id);
  sessionStorage.setItem(SESSION_DOCS, JSON.stringify(ids.slice(0, 200)));
}

function documentRow(d) {
  return el("tr", { "data-id": d.id, "data-status": d.status },
    el("td", {}, el("a", { href: "/v1/documents/" + encodeURIComponent(d.id), text: d.id })),
    el("td", { text: d.title || "" }), el("td", { text: String(d.version) }),
    el("td", { className: "status status-" + d.status, text: d.status,
               title: d.error || null }),
    el("td", { text: String(d.chunks) }), el("td", { text: String(d.facts) }),
    el("td", { text: day(d.published_at) }));
}

async function refreshDocuments() {
  let docs;
  try {
    const page = await api("/v1/documents?limit=100");
    docs = page.documents;
    $("documents-source").textContent = page.next_cursor ? "first 100 documents" : "";
  } catch (err) {
    if (err.status !== 404 && err.status !== 405) throw err;
    // A server without the list route: show what this tab uploaded.
    const got = await Promise.all(sessionDocuments().map(
      (id) => api("/v1/documents/" + encodeURIComponent(id)).catch(() => null)));
    docs = got.filter(Boolean);
    $("documents-source").textContent = "documents uploaded in this session";
  }
  $("documents").tBodies[0].replaceChildren(...docs.map(documentRow));
}

async function pollStatus(url, id) {
  // Until the worker is done with it; the table shows each step.
  for (let i = 0; i < 600; i++) {
    const d = await api(url);
    const row = document.querySelector(`#documents tr[data-id="${CSS.escape(id)}"]`);
    if (row) row.replaceWith(documentRow(d));
    else $("documents").tBodies[0].prepend(documentRow(d));
    if (d.status !== "pending" && d.status !== "deleting") return d;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

async function upload() {
  const file = $("doc-file").files[0];
  const fields = { id: $("doc-id").value.trim(), title: $("doc-title").value.trim(),
                   published_at: $("doc-published").value };
  let init;
  if (file) {
    const form = new FormData();
    form.append("file", file, file.name);
    for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v);
    init = { method: "POST", body: form };
  } else {
    const body = { text: $("doc-text").value };
    for (const [k, v] of Object.entries(fields)) if (v) body[k] = v;
    init = { method: "POST", headers: { "Content-Type": "application/json" },
             body: JSON.stringify(body) };
  }
  const acc = await api("/v1/documents", init);
  rememberDocument(acc.id);
  $("upload-form").reset();
  await pollStatus(acc.status_url, acc.id);
}

// ------------------------------------------------------------------ Timeline

let timeline = null;  // {facts, knownTimes}

// Both clocks: at known time t a fact is shown only once it was known (known_from), and
// drawn closed only once its end was known (known_to); before that it was believed open.
function knownAt(f, t) { return Date.parse(f.known_from) <= t; }

function closedAt(f, t) {
  return Boolean(f.valid_to) && (!f.known_to || Date.parse(f.known_to) <= t);
}

function drawTimeline() {
  const { facts } = timeline;
  const chart = $("timeline-chart");
  const t = timeline.knownTimes[Number($("known-slider").value)];
  $("known-label").textContent = day(new Date(t).toISOString());
  const now = Date.now();
  const spans = facts.map((f) => {
    const start = Date.parse(f.valid_from || f.known_from);
    const end = closedAt(f, t) ? Date.parse(f.valid_to) : null;
    return { f, start, end };
  });
  let lo = Math.min(...spans.map((s) => s.start));
  let hi = Math.max(now, ...spans.map((s) => s.end || s.start));
  const pad = Math.max((hi - lo) * 0.03, 30 * DAY_MS);
  lo -= pad; hi += pad;
  const width = Math.max(chart.clientWidth || 900, 600);
  const labelW = Math.min(340, width * 0.38);
  const rowH = 30, top = 28;
  const x = (ms) => labelW + ((ms - lo) / (hi - lo)) * (width - labelW - 16);
  const height = top + rowH * spans.length + 10;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                            "aria-label": `Timeline of ${facts.length} facts` });
  // Year ticks, thinned so labels never collide.
  const y0 = new Date(lo).getUTCFullYear(), y1 = new Date(hi).getUTCFullYear();
  const every = Math.max(1, Math.ceil((y1 - y0 + 1) / ((width - labelW) / 60)));
  for (let y = y0 + 1; y <= y1; y += every) {
    const px = x(Date.UTC(y, 0, 1));
    root.append(svg("line", { x1: px, x2: px, y1: top - 6, y2: height, class: "tick" }),
                svg("text", { x: px + 2, y: top - 10, class: "tick-label" }, String(y)));
  }
  spans.forEach(({ f, start, end }, i) => {
    const y = top + i * rowH;
    const closed = end !== null;
    const x1 = x(start), x2 = closed ? Math.max(x(end), x1 + 3) : x(hi);
    const sources = f.sources.join(", ");
    const g = svg("g", { class: "fact " + (closed ? "closed" : "open"), tabindex: 0,
                         role: "button",
                         "data-subject": f.subject, "data-relation": f.relation,
                         "data-object": f.object, "data-closed": String(closed),
                         "data-known-from": f.known_from,
                         "aria-label": `${f.subject} ${f.relation} ${f.object}, valid ` +
                           `${day(f.valid_from) || "?"} to ${closed ? day(f.valid_to) : "now"}` });
    g.append(svg("title", {}, `${f.subject} ${f.relation} ${f.object}\n` +
      `valid ${day(f.valid_from) || "?"} → ${closed ? day(f.valid_to) : "open"}\n` +
      `known from ${day(f.known_from)}\nsources: ${sources}`));
    g.append(svg("text", { x: 4, y: y + 19, class: "fact-label" },
      `${f.subject} · ${f.relation} · ${f.object}`.slice(0, 60)));
    g.append(svg("rect", { x: x1, y: y + 7, width: x2 - x1, height: 16, rx: 3, class: "bar" }));
    if (closed) {
      // A closed fact ends in a hard cap; an open one fades out towards the right edge.
      g.append(svg("line", { x1: x2, x2: x2, y1: y + 3, y2: y + 27, class: "cap" }));
    } else {
      g.append(svg("path", { d: `M${x2 - 8},${y + 9} L${x2},${y + 15} L${x2 - 8},${y + 21}`,
                             class: "arrow" }));
    }
    const visible = knownAt(f, t);
    g.setAttribute("visibility", visible ? "visible" : "hidden");
    g.setAttribute("data-visible", String(visible));
    const show = () => showFact(f);
    g.addEventListener("click", show);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") show(); });
    root.append(g);
  });
  chart.replaceChildren(root);
}

function showFact(f) {
  const box = $("fact-detail");
  const list = el("ul", {});
  for (const s of f.sources) list.append(el("li", {}, docLink(s)));
  box.replaceChildren(
    el("h3", { text: `${f.subject} ${f.relation} ${f.object}` }),
    el("p", { text: `Valid ${day(f.valid_from) || "?"} → ${day(f.valid_to) || "open"}; ` +
                    `known ${day(f.known_from)} → ${day(f.known_to) || "now"}` }),
    el("p", { text: "Sources:" }), list);
  box.hidden = false;
}

async function openTimeline(name) {
  selectTab("timeline");
  $("entity").value = name;
  const res = await api("/v1/entities/" + encodeURIComponent(name) + "/timeline");
  const knownTimes = [...new Set(res.facts.map((f) => Date.parse(f.known_from)))];
  knownTimes.push(Date.now());
  knownTimes.sort((a, b) => a - b);
  timeline = { facts: res.facts, knownTimes };
  const slider = $("known-slider");
  slider.max = String(knownTimes.length - 1);
  slider.value = slider.max;
  $("timeline-title").textContent = `${res.entity}: ${res.facts.length} facts`;
  $("fact-detail").hidden = true;
  $("timeline-result").hidden = false;
  drawTimeline();
}

// ------------------------------------------------------------------ Period

function neighbours(label) {
  // Parent and children in the time hierarchy: year > quarter > month > day.
  const m = /^(\d{4})(?:-Q([1-4])|-(\d{2})(?:-(\d{2}))?)?$/.exec(label);
  if (!m) return { parent: null, children: [] };
  const [, y, q, mo, d] = m;
  const pad = (n) => String(n).padStart(2, "0");
  if (d) return { parent: `${y}-${mo}`, children: [] };
  if (mo) {
    const days = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
    return { parent: `${y}-Q${Math.ceil(Number(mo) / 3)}`,
             children: Array.from({ length: days }, (_, i) => `${y}-${mo}-${pad(i + 1)}`) };
  }
  if (q) {
    const first = (Number(q) - 1) * 3 + 1;
    return { parent: y, children: [0, 1, 2].map((i) => `${y}-${pad(first + i)}`) };
  }
  return { parent: null, children: [1, 2, 3, 4].map((i) => `${y}-Q${i}`) };
}

function periodLink(label, text) {
  const a = el("a", { href: "#period", text: text || label, "data-period": label });
  a.addEventListener("click", guarded(() => openPeriod(label)));
  return a;
}

async function openPeriod(label) {
  selectTab("period");
  $("period").value = label;
  const res = await api("/v1/time/" + encodeURIComponent(label));
  $("period-title").textContent =
    `${res.period} (${res.granularity}, ${day(res.start)} → ${day(res.end)})`;
  const nav = $("period-nav");
  const { parent, children } = neighbours(res.period);
  nav.replaceChildren();
  if (parent) nav.append("Up: ", periodLink(parent), " ");
  if (children.length) {
    nav.append("Down: ");
    children.forEach((c) => nav.append(periodLink(c), " "));
  }
  $("period-summary").textContent = res.summary || "no summary yet";
  const facts = $("period-facts");
  facts.replaceChildren();
  const docs = new Set();
  for (const f of res.facts) {
    f.sources.forEach((s) => docs.add(s));
    facts.append(el("li", { text: `${f.subject} ${f.relation} ${f.object} ` +
      `(valid ${day(f.valid_from) || "?"} → ${day(f.valid_to) || "open"})` }));
  }
  if (!res.facts.length) facts.append(el("li", { text: "no facts start in this period" }));
  const docList = $("period-documents");
  docList.replaceChildren(...[...docs].sort().map((s) => el("li", {}, docLink(s))));
  if (!docs.size) docList.append(el("li", { text: "none" }));
  $("period-result").hidden = false;
}

// ------------------------------------------------------------------ start

function start() {
  setUpTabs();
  const key = $("api-key");
  key.value = sessionStorage.getItem(KEY_STORE) || "";
  key.addEventListener("input", () => {
    if (key.value) sessionStorage.setItem(KEY_STORE, key.value);
    else sessionStorage.removeItem(KEY_STORE);
  });
  $("key-form").addEventListener("submit", (e) => e.preventDefault());
  $("ask-form").addEventListener("submit", guarded(ask));
  $("upload-form").addEventListener("submit", guarded(upload));
  $("refresh-documents").addEventListener("click", guarded(refreshDocuments));
  $("timeline-form").addEventListener("submit", guarded(() => openTimeline($("entity").value)));
  $("known-slider").addEventListener("input", () => { if (timeline) drawTimeline(); });
  $("period-form").addEventListener("submit", guarded(() => openPeriod($("period").value)));
  window.addEventListener("resize", () => { if (timeline) drawTimeline(); });
}

document.addEventListener("DOMContentLoaded", start);
