// The Vigil dashboard: a status snapshot, the persistent history, then everything live from the event stream.
// Plain browser JavaScript, no framework and nothing fetched from anywhere but this daemon.
'use strict';

const MAX_TIMELINE = 200;
const MAX_LOGS = 100;
const MAX_SAMPLES = 120;
const state = { snap: null, timeline: [], logs: [], samples: new Map(), refreshing: false, again: false };

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
const pad = (n, w = 2) => String(n).padStart(w, '0');
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function ago(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

async function refresh() {
  // One request at a time; a burst of events asks for one more afterwards.
  if (state.refreshing) {
    state.again = true;
    return;
  }
  state.refreshing = true;
  try {
    const r = await fetch('/api/v1/status', { cache: 'no-store' });
    if (r.ok) {
      state.snap = await r.json();
      render();
    }
  } catch {
    /* the stream's state shows the outage */
  }
  state.refreshing = false;
  if (state.again) {
    state.again = false;
    void refresh();
  }
}

function render() {
  const s = state.snap;
  if (!s) return;
  $('cluster').textContent = `— seen from ${s.node}`;
  $('meta').textContent =
    `Vigil ${s.version} · pid ${s.pid} · generation ${s.generation} · auto_failback ${s.autoFailback} · up since ${new Date(s.startedAt).toLocaleString()}`;
  const nodes = $('nodes');
  nodes.replaceChildren(
    ...s.nodes.map((n) => {
      const local = n.name === s.node;
      const links = n.links.map((l) => el('span', { class: `link ${l.status}` }, `${l.name} ${l.status}`));
      const sub = [];
      if (local) sub.push('this node');
      else if (n.lastHeard) sub.push(`heard ${ago(n.lastHeard)}`);
      if (n.detector) sub.push(`limit ${Math.round(n.detector.limitMs)} ms`);
      return el(
        'div',
        { class: `card ${n.status}`, 'data-node': n.name },
        el(
          'div',
          { class: 'name' },
          n.name,
          ' ',
          el('span', { class: 'sub' }, n.type === 'ping' ? 'ping node · ' : '', n.status),
        ),
        el('div', { class: 'sub' }, sub.join(' · ')),
        el('div', {}, ...links),
      );
    }),
  );
  const body = $('groups').querySelector('tbody');
  body.replaceChildren(
    ...s.groups.map((g) =>
      el(
        'tr',
        { 'data-group': g.key },
        el('td', {}, g.key),
        el('td', { class: 'holder', 'data-testid': 'holder' }, g.holder ?? 'nobody'),
        el('td', { class: `st-${g.state}` }, g.state),
        el('td', { title: new Date(g.since).toLocaleString() }, ago(g.since)),
        el('td', {}, g.preferred),
        el('td', {}, g.eligible ? 'yes' : `no: ${g.ineligibleReason ?? ''}`),
        el('td', {}, g.failCount + (g.lastFailure ? ` (${g.lastFailure})` : '')),
      ),
    ),
  );
  if (state.timeline.length === 0 && s.transitions.length > 0) {
    for (const t of s.transitions) if (t.group) state.timeline.push({ ...t, node: s.node });
    renderTimeline();
  }
}

function renderTimeline() {
  const ol = $('timeline');
  if (state.timeline.length === 0) {
    ol.replaceChildren(el('li', { class: 'empty' }, 'No transitions yet.'));
    return;
  }
  ol.replaceChildren(
    ...state.timeline
      .slice()
      .reverse()
      .map((t) =>
        el(
          'li',
          { 'data-group': t.group },
          el('span', { class: 't' }, clock(t.at)),
          `${t.node ?? ''} `,
          el('b', {}, t.group),
          ` ${t.from} → ${t.to} `,
          el(
            'span',
            { class: 'r' },
            t.reason + (t.peer ? ` ${t.to === 'acquiring' || t.to === 'held' ? 'from' : 'to'} ${t.peer}` : ''),
          ),
          t.durationMs !== undefined ? ` in ${t.durationMs} ms` : '',
          el('span', { class: 't' }, ` (${t.cause})`),
        ),
      ),
  );
}

function renderLogs() {
  const ol = $('logs');
  if (state.logs.length === 0) {
    ol.replaceChildren(el('li', { class: 'empty' }, 'Nothing at WARN or above since this page opened.'));
    return;
  }
  ol.replaceChildren(
    ...state.logs
      .slice()
      .reverse()
      .map((l) => el('li', { class: l.level }, el('span', { class: 't' }, clock(l.at)), `${l.level}: ${l.text}`)),
  );
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// Per peer: the mean inter-arrival time ± its spread (what the adaptive detector learnt), the limit past which the
// peer is declared dead, and the current silence, over the last two minutes.
function renderCharts() {
  const box = $('charts');
  const peers = [...state.samples.keys()].sort();
  if (peers.length === 0) {
    box.replaceChildren(el('div', { class: 'empty' }, 'Waiting for heartbeat samples…'));
    return;
  }
  box.replaceChildren(
    ...peers.map((peer) => {
      const xs = state.samples.get(peer);
      const W = 560,
        H = 140,
        L = 44,
        B = 18;
      // Scaled to the limit, not to a dead peer's growing silence: the silence line is clipped at the top.
      const top = Math.max(10, ...xs.map((x) => Math.max(x.limitMs ?? 0, (x.meanMs ?? 0) + (x.stddevMs ?? 0)))) * 1.5;
      // Drawn from the left: a fresh page spreads its first 30 samples over the width, the chart then stretches to
      // hold up to MAX_SAMPLES (two minutes), then scrolls.
      const span = Math.max(30, xs.length) - 1;
      const X = (i) => L + (i / span) * (W - L - 4);
      const Y = (v) => H - B - (v / top) * (H - B - 6);
      const g = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-peer': peer });
      for (const f of [0, 0.5, 1]) {
        const v = top * f;
        g.append(svg('line', { x1: L, x2: W - 4, y1: Y(v), y2: Y(v), stroke: '#2d3640' }));
        const t = svg('text', { x: L - 4, y: Y(v) + 4, 'text-anchor': 'end', fill: '#8a96a3', 'font-size': 10 });
        t.textContent = `${Math.round(v)}`;
        g.append(t);
      }
      const path = (get) =>
        xs
          .map((x, i) => (get(x) == null ? null : `${X(i).toFixed(1)},${Y(get(x)).toFixed(1)}`))
          .filter(Boolean)
          .join(' ');
      const band = xs.filter((x) => x.meanMs != null);
      if (band.length > 1) {
        const upper = xs
          .map((x, i) => (x.meanMs == null ? null : `${X(i).toFixed(1)},${Y(x.meanMs + x.stddevMs).toFixed(1)}`))
          .filter(Boolean);
        const lower = xs
          .map((x, i) =>
            x.meanMs == null ? null : `${X(i).toFixed(1)},${Y(Math.max(0, x.meanMs - x.stddevMs)).toFixed(1)}`,
          )
          .filter(Boolean)
          .reverse();
        g.append(svg('polygon', { points: [...upper, ...lower].join(' '), fill: '#58a6ff', 'fill-opacity': 0.18 }));
      }
      g.append(svg('polyline', { points: path((x) => x.meanMs), fill: 'none', stroke: '#58a6ff', 'stroke-width': 2 }));
      g.append(
        svg('polyline', {
          points: path((x) => x.limitMs),
          fill: 'none',
          stroke: '#f85149',
          'stroke-width': 1.5,
          'stroke-dasharray': '5 3',
        }),
      );
      g.append(
        svg('polyline', {
          points: path((x) => (x.ageMs == null ? null : Math.min(x.ageMs, top))),
          fill: 'none',
          stroke: '#d29922',
          'stroke-width': 1,
        }),
      );
      const last = xs[xs.length - 1];
      const fmt = (v) => (v == null ? '–' : `${Math.round(v)} ms`);
      return el(
        'div',
        { class: 'chart' },
        el(
          'div',
          { class: 'title' },
          `${peer} (${last.status}) · mean ${fmt(last.meanMs)} ± ${fmt(last.stddevMs)} · limit ${fmt(last.limitMs)} · ${last.samples} samples`,
        ),
        g,
        el(
          'div',
          { class: 'legend sub' },
          el('span', { class: 'mean' }, '— mean ± spread'),
          el('span', { class: 'limit' }, '- - limit'),
          el('span', { class: 'silence' }, '— silence now'),
        ),
      );
    }),
  );
}

function connect() {
  const es = new EventSource('/api/v1/events?level=WARN');
  const live = $('live');
  es.onopen = () => {
    live.textContent = 'live';
    live.className = 'badge on';
    void refresh();
  };
  es.onerror = () => {
    live.textContent = 'disconnected';
    live.className = 'badge off';
  };
  es.addEventListener('transition', (m) => {
    const e = JSON.parse(m.data);
    state.timeline.push(e);
    if (state.timeline.length > MAX_TIMELINE) state.timeline.shift();
    renderTimeline();
    void refresh();
  });
  for (const t of ['peer', 'link', 'health']) es.addEventListener(t, () => void refresh());
  es.addEventListener('log', (m) => {
    state.logs.push(JSON.parse(m.data));
    if (state.logs.length > MAX_LOGS) state.logs.shift();
    renderLogs();
  });
  es.addEventListener('sample', (m) => {
    const e = JSON.parse(m.data);
    for (const p of e.peers) {
      const xs = state.samples.get(p.peer) ?? [];
      xs.push(p);
      if (xs.length > MAX_SAMPLES) xs.shift();
      state.samples.set(p.peer, xs);
    }
    renderCharts();
  });
}

async function start() {
  renderLogs();
  renderCharts();
  await refresh();
  try {
    const r = await fetch('/api/v1/history?limit=' + MAX_TIMELINE, { cache: 'no-store' });
    if (r.ok) {
      state.timeline = await r.json();
      renderTimeline();
    }
  } catch {
    /* the status' last transitions stay */
  }
  connect();
  // "since" columns age; a slow refresh also covers anything a reconnect missed.
  setInterval(() => void refresh(), 5000);
}
void start();
