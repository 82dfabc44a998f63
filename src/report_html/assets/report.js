'use strict';
(function () {
const D = JSON.parse(document.getElementById('report-data').textContent);
const $ = (id) => document.getElementById(id);
const KINDS = ['SYN', 'SYN-ACK', 'data', 'PSH', 'FIN', 'RST', 'ACK'];
const KIND_COLOR = ['#2e7d32', '#7cb342', '#64b5f6', '#1565c0', '#8e24aa', '#d32f2f', '#9e9e9e'];
const PHASE_COLOR = {
  handshake: '#fff176', established: '#a5d6a7', 'half-closed': '#ffcc80',
  closed: '#cfd8dc', reset: '#ef9a9a',
};
const MARKS = [
  [1, 'retransmission'], [2, 'out-of-order'], [4, 'previous segment not captured'],
  [8, 'zero window'], [16, 'data after peer FIN'], [32, '4-tuple reuse'],
  [64, 'duplicate ACK'], [128, 'keep-alive'], [256, 'ACK of unseen segment'],
];
const MARKER = {
  retx: '#d50000', ooo: '#ffab00', gap: '#d500f9', zwin: '#ff6d00', afterfin: '#6a1b9a',
  reuse: '#0d47a1', reqbar: '#00897b', resbar: '#f9a825', exbar: '#5e35b1', exerr: '#d50000',
};
const ROW = 32, AXIS = 26, LW = 250, MIN_SPAN = 10, TR = 22;
const t_start = performance.now();

function esc(s) {
  return String(s).replace(/[&<>"']/g, (ch) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[ch]);
}
function fmtEp(a, p) { return (a.includes(':') ? '[' + a + ']' : a) + ':' + p; }
function fmtDur(us) {
  if (us === null || us === undefined) return '-';
  const a = Math.abs(us);
  if (a >= 1e6) return (us / 1e6).toFixed(3) + ' s';
  if (a >= 1e3) return (us / 1e3).toFixed(3) + ' ms';
  return (Number.isInteger(us) ? us : us.toFixed(3)) + ' \u00b5s';
}
function fmtT(us) { return (us / 1e6).toFixed(6) + ' s'; }
function fmtN(n) { return Number(n).toLocaleString('en-US'); }

// ---- the model ----
const conns = D.conns;
const byId = new Map();
// The first bytes of each connection: a block of their own, parsed when a
// detail pane first needs them.
let previewCache = null;
function previews() {
  if (!previewCache) previewCache = JSON.parse(document.getElementById('report-previews').textContent);
  return previewCache;
}
conns.forEach((c, i) => { c.ix = i; });
for (const c of conns) {
  byId.set(c.id, c);
  c.np = c.pk.length / 7;
  c.marked = [];
  let retxMarks = 0;
  for (let i = 0; i < c.np; i++) {
    const m = c.pk[i * 7 + 6];
    if (m) c.marked.push(i);
    if (m & 1) retxMarks++;
  }
  const a = c.an;
  const counted = a[0].retransmission + a[0].fast_retransmission + a[0].spurious_retransmission +
      a[1].retransmission + a[1].fast_retransmission + a[1].spurious_retransmission;
  c.retx = Math.max(counted, retxMarks);
  c.stateLabel = c.state || c.close;
  c.client = fmtEp(c.c, c.cp);
  c.server = fmtEp(c.s, c.sp);
  c.statuses = c.http.map((h) => h.st);
  c.ex = c.ex || [];
  c.ml = c.ml || 0;
  c.packets = c.st[0].packets + c.st[1].packets;
  c.dur = c.end - c.start;
  c.row = -1;
}

// ---- header ----
function header() {
  const t = D.totals;
  $('title').textContent = D.title || 'tcpscribe report';
  $('sum-files').textContent = D.inputs.length ? D.inputs.join(', ') : '-';
  const origin = Number(D.origin);
  const startIso = conns.length ? new Date(origin * 1000).toISOString().replace('T', ' ') : '-';
  $('sum-span').textContent = startIso + ' + ' + fmtDur(D.span[1]);
  $('sum-span').dataset.us = D.span[1];
  let pk = fmtN(t.packets_seen) + ' TCP';
  if (D.capture.packets_read !== null) pk = fmtN(D.capture.packets_read) + ' read, ' + pk;
  if (t.packets_kept !== t.packets_seen) pk += ' (' + fmtN(t.packets_kept) + ' drawn)';
  $('sum-packets').textContent = pk;
  $('sum-packets').dataset.value = t.packets_seen;
  let cn = fmtN(t.connections_seen);
  if (t.connections_listed !== t.connections_seen) cn += ' (' + fmtN(t.connections_listed) + ' listed)';
  $('sum-conns').textContent = cn;
  $('sum-conns').dataset.value = t.connections_seen;
  const states = new Map();
  for (const c of conns) states.set(c.stateLabel, (states.get(c.stateLabel) || 0) + 1);
  const keys = [...states.keys()].sort();
  $('sum-states').innerHTML = keys.map((k) =>
    '<span class="chip" data-state="' + esc(k) + '" data-count="' + states.get(k) + '">' +
    esc(k) + ' ' + states.get(k) + '</span>').join('');
  const sel = $('f-state');
  for (const k of keys) {
    const o = document.createElement('option');
    o.value = k;
    o.textContent = k + ' (' + states.get(k) + ')';
    sel.appendChild(o);
  }
  const cap = D.capture;
  if (cap.kernel_drops === null && cap.interface_drops === null) {
    $('sum-drops').textContent = 'not known';
  } else {
    $('sum-drops').textContent = fmtN(cap.kernel_drops || 0) + ' by the kernel, ' +
        fmtN(cap.interface_drops || 0) + ' by the interface';
  }
  $('sum-bytes').textContent = fmtN(t.bytes_c2s) + ' client\u2192server, ' +
      fmtN(t.bytes_s2c) + ' server\u2192client';
  $('sum-http').textContent = fmtN(t.http_seen) + ' transactions';
  const notes = [];
  if (t.packets_kept < t.packets_seen) {
    notes.push('Summarised: ' + fmtN(t.packets_kept) + ' of ' + fmtN(t.packets_seen) +
        ' packets are drawn (every SYN, FIN, RST and marked packet is kept, the others are ' +
        'sampled per connection; the statistics count every packet).');
  }
  if (t.marked_dropped) notes.push(fmtN(t.marked_dropped) + ' marked packets over the cap are not drawn.');
  if (t.connections_listed < t.connections_seen) {
    notes.push('Only the first ' + fmtN(t.connections_listed) + ' of ' + fmtN(t.connections_seen) +
        ' connections are listed.');
  }
  if (t.http_kept < t.http_seen) notes.push(fmtN(t.http_kept) + ' of ' + fmtN(t.http_seen) + ' HTTP transactions are drawn.');
  if (t.exchanges_kept < t.exchanges_seen) notes.push(fmtN(t.exchanges_kept) + ' of ' + fmtN(t.exchanges_seen) + ' other exchanges (Redis, PostgreSQL, MySQL) are drawn.');
  if (t.marks_left_out) notes.push(fmtN(t.marks_left_out) + ' exchanges over the cap per connection are not drawn.');
  $('note').textContent = notes.join(' ');
  const leg = [];
  KINDS.forEach((k, i) => leg.push('<span><span class="sw" style="background:' + KIND_COLOR[i] + '"></span>' + k + '</span>'));
  for (const [p, col] of Object.entries(PHASE_COLOR)) leg.push('<span><span class="sw" style="background:' + col + '"></span>' + p + '</span>');
  leg.push('<span><span class="mk" style="color:' + MARKER.retx + '">\u25bc</span>retransmission</span>');
  leg.push('<span><span class="mk" style="color:' + MARKER.ooo + '">\u25bc</span>out-of-order</span>');
  leg.push('<span><span class="mk" style="color:' + MARKER.gap + '">\u2502</span>gap</span>');
  leg.push('<span><span class="mk" style="color:' + MARKER.zwin + '">\u25a0</span>zero window</span>');
  leg.push('<span><span class="mk" style="color:' + MARKER.afterfin + '">\u25cb</span>data after peer FIN</span>');
  leg.push('<span><span class="mk" style="color:' + MARKER.reuse + '">\u25c6</span>4-tuple reuse</span>');
  leg.push('<span><span class="sw" style="background:' + MARKER.reqbar + '"></span>HTTP request</span>');
  leg.push('<span><span class="sw" style="background:' + MARKER.resbar + '"></span>response</span>');
  leg.push('<span><span class="sw" style="background:' + MARKER.exbar + '"></span>Redis/SQL exchange</span>');
  leg.push('<span><span class="sw" style="background:' + MARKER.exerr + '"></span>error</span>');
  $('legend').innerHTML = leg.join(' ');
}

// ---- filters, order, timeline rows ----
let filtered = conns.slice();
let order = [];
let rows = [];
let selected = null;
let sortKey = 'id', sortAsc = true;
const COLS = [
  {k: 'id', t: '#', w: 40, v: (c) => c.id, num: true},
  {k: 'client', t: 'client', w: 136, v: (c) => c.client},
  {k: 'server', t: 'server', w: 136, v: (c) => c.server},
  {k: 'state', t: 'state', w: 48, v: (c) => c.stateLabel},
  {k: 'start', t: 'start', w: 80, v: (c) => c.start, f: fmtT, num: true},
  {k: 'dur', t: 'duration', w: 74, v: (c) => c.dur, f: fmtDur, num: true},
  {k: 'packets', t: 'pkts', w: 42, v: (c) => c.packets, num: true},
  {k: 'b0', t: 'bytes c\u2192s', w: 68, v: (c) => c.st[0].payload_bytes, num: true},
  {k: 'b1', t: 'bytes s\u2192c', w: 68, v: (c) => c.st[1].payload_bytes, num: true},
  {k: 'retx', t: 'retx', w: 36, v: (c) => c.retx, num: true},
  {k: 'find', t: 'finds', w: 40, v: (c) => c.f.length, num: true},
  {k: 'http', t: 'HTTP', w: 60, v: (c) => c.statuses.join(' ')},
];

function applyFilters() {
  const host = $('f-host').value.trim().toLowerCase();
  const port = $('f-port').value.trim();
  const state = $('f-state').value;
  const retx = $('f-retx').checked;
  const http = $('f-http').value.trim();
  filtered = conns.filter((c) =>
    (!host || c.c.toLowerCase().includes(host) || c.s.toLowerCase().includes(host)) &&
    (!port || String(c.cp) === port || String(c.sp) === port) &&
    (!state || c.stateLabel === state) && (!retx || c.retx > 0) &&
    (!http || c.statuses.some((s) => String(s).startsWith(http))));
  $('f-count').textContent = filtered.length + ' of ' + conns.length + ' connections';
  sortOrder();
  buildRows();
  resize();
  renderTable();
}

function sortOrder() {
  const col = COLS.find((x) => x.k === sortKey);
  order = filtered.slice().sort((a, b) => {
    const va = col.v(a), vb = col.v(b);
    let r = col.num ? va - vb : String(va).localeCompare(String(vb));
    if (!r) r = a.id - b.id;
    return sortAsc ? r : -r;
  });
  for (let i = 0; i < order.length; i++) order[i].oi = i;
}

function buildRows() {
  for (const c of conns) c.row = -1;
  const groups = new Map();
  for (const c of filtered) {
    let g = groups.get(c.server);
    if (!g) { g = []; groups.set(c.server, g); }
    g.push(c);
  }
  const keys = [...groups.keys()].sort((a, b) => {
    const ca = groups.get(a)[0], cb = groups.get(b)[0];
    return ca.s.localeCompare(cb.s, 'en', {numeric: true}) || ca.sp - cb.sp;
  });
  rows = [];
  for (const k of keys) {
    const list = groups.get(k).sort((a, b) => a.start - b.start || a.id - b.id);
    rows.push({g: k, n: list.length});
    for (const c of list) { c.row = rows.length; rows.push({c}); }
  }
}

// ---- timeline ----
const tl = $('tl'), scroller = $('tl-scroll'), spacer = $('tl-spacer');
const full = {t0: D.span[0], t1: Math.max(D.span[1], D.span[0] + MIN_SPAN)};
function fullView() {
  const s = full.t1 - full.t0;
  return {t0: full.t0 - s * 0.01, t1: full.t1 + s * 0.01};
}
let view = fullView();
let W = 0, H = 0, dpr = 1;
const axis = {step: 0, unit: '', labels: []};
const plotW = () => Math.max(1, W - LW);
const xOf = (t) => LW + (t - view.t0) / (view.t1 - view.t0) * plotW();
const tOf = (x) => view.t0 + (x - LW) / plotW() * (view.t1 - view.t0);

function resize() {
  W = scroller.clientWidth;
  H = scroller.clientHeight;
  dpr = window.devicePixelRatio || 1;
  tl.width = Math.round(W * dpr);
  tl.height = Math.round(H * dpr);
  tl.style.width = W + 'px';
  tl.style.height = H + 'px';
  spacer.style.height = Math.max(0, AXIS + rows.length * ROW - H) + 'px';
  draw();
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); });
}

function axisStep() {
  const target = (view.t1 - view.t0) * 110 / plotW();
  for (let e = 0; e < 13; e++) {
    for (const m of [1, 2, 5]) {
      const s = m * Math.pow(10, e);
      if (s >= target) return s;
    }
  }
  return 1e13;
}
function decimals(x) { return x >= 1 ? 0 : Math.ceil(-Math.log10(x) - 1e-9); }
function axisLabel(t, step) {
  if (step >= 1e6 || Math.abs(t) / (step >= 1e3 ? 1e3 : 1) >= 1e5) {
    return (t / 1e6).toFixed(decimals(step / 1e6)) + ' s';
  }
  if (step >= 1e3) return (t / 1e3).toFixed(0) + ' ms';
  return t.toFixed(0) + ' \u00b5s';
}

function lowerBound(c, t) {
  let lo = 0, hi = c.np;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.pk[mid * 7] < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function tri(ctx, x, y, down, col) {
  ctx.fillStyle = col;
  ctx.beginPath();
  if (down) { ctx.moveTo(x - 3.5, y - 4); ctx.lineTo(x + 3.5, y - 4); ctx.lineTo(x, y + 1); }
  else { ctx.moveTo(x - 3.5, y + 4); ctx.lineTo(x + 3.5, y + 4); ctx.lineTo(x, y - 1); }
  ctx.fill();
}

function drawConn(ctx, c, y) {
  const barY = y + 13, x0 = Math.max(LW - 5, xOf(c.start)), x1 = Math.min(W + 5, xOf(c.end));
  // the bar, shaded by phase
  const ph = c.ph.length ? c.ph : [['established', c.start]];
  for (let i = 0; i < ph.length; i++) {
    const a = xOf(ph[i][1]);
    const b = xOf(i + 1 < ph.length ? ph[i + 1][1] : c.end);
    if (b < LW || a > W) continue;
    ctx.fillStyle = PHASE_COLOR[ph[i][0]] || '#ddd';
    ctx.fillRect(a, barY, Math.max(1, b - a), 7);
  }
  if (x1 >= LW && x0 <= W) {
    ctx.strokeStyle = '#90a4ae';
    ctx.strokeRect(Math.round(x0) + 0.5, barY + 0.5, Math.max(1, Math.round(x1 - x0)), 6);
  }
  // packet ticks: client->server above the bar, server->client below
  const t0 = tOf(LW - 2), t1 = tOf(W + 2);
  const last = [-1, -1];
  for (let i = lowerBound(c, t0); i < c.np; i++) {
    const t = c.pk[i * 7];
    if (t > t1) break;
    const code = c.pk[i * 7 + 1], d = code & 1, kind = code >> 1;
    const x = Math.round(xOf(t));
    const key = x * 8 + kind;
    if (last[d] === key) continue;
    last[d] = key;
    ctx.fillStyle = KIND_COLOR[kind];
    ctx.fillRect(x - 0.5, d ? y + 21 : y + 5, 2, 7);
  }
  // markers
  for (const i of c.marked) {
    const t = c.pk[i * 7];
    if (t < t0 || t > t1) continue;
    const m = c.pk[i * 7 + 6], d = c.pk[i * 7 + 1] & 1, x = xOf(t);
    const yy = d ? y + 25 : y + 7;
    if (m & 1) tri(ctx, x, d ? y + 28 : y + 4, !d, MARKER.retx);
    else if (m & 2) tri(ctx, x, d ? y + 28 : y + 4, !d, MARKER.ooo);
    if (m & 4) { ctx.fillStyle = MARKER.gap; ctx.fillRect(x - 1, y + 2, 2, ROW - 4); }
    if (m & 8) { ctx.fillStyle = MARKER.zwin; ctx.fillRect(x - 3, yy - 3, 6, 6); }
    if (m & 16) {
      ctx.strokeStyle = MARKER.afterfin; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(x, yy, 4, 0, 2 * Math.PI); ctx.stroke(); ctx.lineWidth = 1;
    }
    if (m & 32) {
      ctx.fillStyle = MARKER.reuse;
      ctx.beginPath(); ctx.moveTo(x, barY - 3); ctx.lineTo(x + 5, barY + 3.5);
      ctx.lineTo(x, barY + 10); ctx.lineTo(x - 5, barY + 3.5); ctx.fill();
    }
  }
  for (const g of c.g) {
    if (g[1] < t0 || g[1] > t1) continue;
    ctx.fillStyle = MARKER.gap;
    ctx.fillRect(xOf(g[1]) - 1, y + 2, 2, ROW - 4);
  }
  // HTTP: the request above, the response below, a line from one to the other
  for (const h of c.http) {
    marksDrawn++;
    if (h.rq0 !== null) {
      const a = xOf(h.rq0), b = xOf(h.rq1 === null ? h.rq0 : h.rq1);
      ctx.fillStyle = MARKER.reqbar;
      ctx.fillRect(a, y + 1, Math.max(2, b - a), 3);
    }
    if (h.rs0 !== null) {
      const a = xOf(h.rs0), b = xOf(h.rs1 === null ? h.rs0 : h.rs1);
      ctx.fillStyle = MARKER.resbar;
      ctx.fillRect(a, y + 28, Math.max(2, b - a), 3);
    }
    if (h.rq0 !== null && h.rs0 !== null) {
      ctx.strokeStyle = '#5d4037';
      ctx.setLineDash([2, 2]);
      ctx.beginPath();
      ctx.moveTo(xOf(h.rq1 === null ? h.rq0 : h.rq1), y + 4);
      ctx.lineTo(xOf(h.rs0), y + 28);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }
  // Redis, PostgreSQL, MySQL: the exchange from request to answer above,
  // a tick where the answer ended below; red for an error
  for (const x of c.ex) {
    if (x.t1 < t0 || x.t0 > t1) continue;
    marksDrawn++;
    const a = xOf(x.t0), b = xOf(x.t1);
    ctx.fillStyle = x.e !== null ? MARKER.exerr : MARKER.exbar;
    ctx.fillRect(a, y + 1, Math.max(2, b - a), 3);
    if (x.lat !== null) ctx.fillRect(b - 1, y + 28, 2, 3);
  }
}

/// The exchange (HTTP or another protocol's) drawn between tA and tB on c,
/// as text: the one whose middle is nearest.
function markText(c, tA, tB) {
  const tm = (tA + tB) / 2;
  let best = '', bestD = Infinity;
  const consider = (a, b, text) => {
    if (a === null || b < tA || a > tB) return;
    const d = Math.abs((a + b) / 2 - tm);
    if (d < bestD) { bestD = d; best = text; }
  };
  for (const h of c.http) {
    const a = h.rq0 !== null ? h.rq0 : h.rs0, b = h.rs1 !== null ? h.rs1 : (h.rq1 !== null ? h.rq1 : a);
    consider(a, b, () => httpLabel(h) + (h.rq0 !== null && h.rs1 !== null ? '  ' + fmtDur(h.rs1 - h.rq0) : ''));
  }
  for (const x of c.ex) {
    consider(x.t0, x.t1, () => exLabel(x) + (x.lat !== null ? '  ' + fmtDur(x.lat) : ''));
  }
  return best ? best() : '';
}

function httpLabel(h) {
  return (h.sid ? 'stream ' + h.sid + ' ' : '') + (h.m ? h.m + ' ' + h.u : '(no request)') +
    ' \u2192 ' + (h.st || 'no response');
}

function exLabel(x) {
  return x.p + ' ' + x.q + ' \u2192 ' + (x.e !== null ? 'error: ' + x.e : (x.a || (x.lat === null ? 'no answer' : 'answered')));
}

// Exchange marks (HTTP and the others) the last draw() drew, on the
// canvas as data-marks (tests read it).
let marksDrawn = 0;

function draw() {
  marksDrawn = 0;
  const ctx = tl.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  const top = scroller.scrollTop;
  const first = Math.max(0, Math.floor(top / ROW));
  const last = Math.min(rows.length, Math.ceil((top + H - AXIS) / ROW) + 1);
  const step = axisStep();
  axis.step = step;
  axis.unit = step >= 1e6 ? 's' : step >= 1e3 ? 'ms' : '\u00b5s';
  axis.labels = [];
  const k0 = Math.ceil(view.t0 / step), k1 = Math.floor(view.t1 / step);
  ctx.strokeStyle = '#eeeeee';
  ctx.beginPath();
  for (let k = k0; k <= k1; k++) {
    const x = Math.round(xOf(k * step)) + 0.5;
    ctx.moveTo(x, AXIS); ctx.lineTo(x, H);
  }
  ctx.stroke();
  for (let i = first; i < last; i++) {
    const r = rows[i], y = AXIS + i * ROW - top;
    if (r.g) {
      ctx.fillStyle = '#eceff1';
      ctx.fillRect(0, y + 2, W, ROW - 4);
      ctx.fillStyle = '#263238';
      ctx.font = 'bold 12px system-ui, sans-serif';
      ctx.fillText('server ' + r.g + '  (' + r.n + ')', 6, y + ROW / 2);
      ctx.font = '11px system-ui, sans-serif';
      continue;
    }
    const c = r.c;
    if (c === selected) { ctx.fillStyle = '#e3f2fd'; ctx.fillRect(0, y, W, ROW); }
    ctx.save();
    ctx.beginPath(); ctx.rect(0, y, LW - 6, ROW); ctx.clip();
    ctx.fillStyle = '#37474f';
    ctx.fillText('#' + c.id + ' ' + c.client + (c.reuse ? ' (c' + c.reuse + ')' : ''), 14, y + ROW / 2);
    ctx.restore();
    ctx.save();
    ctx.beginPath(); ctx.rect(LW, y, W - LW, ROW); ctx.clip();
    drawConn(ctx, c, y);
    ctx.restore();
  }
  // the axis, over everything
  ctx.fillStyle = '#fafafa';
  ctx.fillRect(0, 0, W, AXIS);
  ctx.strokeStyle = '#bdbdbd';
  ctx.beginPath(); ctx.moveTo(0, AXIS - 0.5); ctx.lineTo(W, AXIS - 0.5); ctx.stroke();
  ctx.fillStyle = '#424242';
  ctx.textAlign = 'center';
  let lastRight = -1e9;
  for (let k = k0; k <= k1; k++) {
    const x = xOf(k * step);
    const label = axisLabel(k * step, step);
    axis.labels.push(label);
    const w = ctx.measureText(label).width;
    if (x - w / 2 < LW || x - w / 2 < lastRight + 6) continue;
    ctx.fillText(label, x, AXIS / 2);
    ctx.fillRect(Math.round(x), AXIS - 5, 1, 5);
    lastRight = x + w / 2;
  }
  ctx.textAlign = 'left';
  ctx.fillText('time since capture start', 6, AXIS / 2);
  $('axis-info').textContent = 'view ' + fmtDur(view.t1 - view.t0) + ', grid ' + fmtDur(step) +
      ' \u2014 wheel: zoom, drag: pan, shift+wheel: scroll';
  tl.dataset.axisStep = step;
  tl.dataset.axisUnit = axis.unit;
  tl.dataset.marks = marksDrawn;
}

function zoomAt(mx, f) {
  const tp = tOf(mx);
  const fv = fullView();
  let span = (view.t1 - view.t0) * f;
  span = Math.min(Math.max(span, MIN_SPAN), (fv.t1 - fv.t0) * 4);
  const frac = (mx - LW) / plotW();
  view = {t0: tp - frac * span, t1: tp - frac * span + span};
  schedule();
}

tl.addEventListener('wheel', (e) => {
  if (e.shiftKey) { scroller.scrollTop += e.deltaY || e.deltaX; e.preventDefault(); return; }
  e.preventDefault();
  const rect = tl.getBoundingClientRect();
  const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
  zoomAt(Math.max(LW, e.clientX - rect.left), Math.exp(Math.max(-5, Math.min(5, dy * 0.002))));
}, {passive: false});

let drag = null;
tl.addEventListener('mousedown', (e) => {
  if (e.button !== 0) return;
  drag = {x: e.clientX, y: e.clientY, view: {...view}, top: scroller.scrollTop, moved: false};
  e.preventDefault();
});
window.addEventListener('mousemove', (e) => {
  if (!drag) { hover(e); return; }
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; tl.classList.add('dragging'); }
  if (!drag.moved) return;
  const dt = dx / plotW() * (drag.view.t1 - drag.view.t0);
  view = {t0: drag.view.t0 - dt, t1: drag.view.t1 - dt};
  scroller.scrollTop = drag.top - dy;
  $('tooltip').style.display = 'none';
  schedule();
});
window.addEventListener('mouseup', (e) => {
  if (!drag) return;
  const wasClick = !drag.moved;
  drag = null;
  tl.classList.remove('dragging');
  if (!wasClick) return;
  const r = rowAt(e);
  if (r && r.c) select(r.c.id, 'timeline');
});
scroller.addEventListener('scroll', schedule);
window.addEventListener('resize', () => resize());
$('zoom-reset').addEventListener('click', () => { view = fullView(); schedule(); });
$('zoom-sel').addEventListener('click', () => { if (selected) zoomTo(selected); });
tl.addEventListener('dblclick', (e) => { const r = rowAt(e); if (r && r.c) zoomTo(r.c); });
function zoomTo(c) {
  const pad = Math.max((c.end - c.start) * 0.05, MIN_SPAN / 2);
  view = {t0: c.start - pad, t1: c.end + pad};
  schedule();
}

function rowAt(e) {
  const rect = tl.getBoundingClientRect();
  const y = e.clientY - rect.top;
  if (y < AXIS || e.clientX < rect.left || e.clientX > rect.right || y > rect.height) return null;
  const i = Math.floor((y - AXIS + scroller.scrollTop) / ROW);
  return i >= 0 && i < rows.length ? {...rows[i], y: y - AXIS + scroller.scrollTop - i * ROW} : null;
}

function packetText(c, i) {
  const p = c.pk, b = i * 7;
  const d = p[b + 1] & 1, kind = p[b + 1] >> 1;
  const lines = [(d ? 'server\u2192client ' : 'client\u2192server ') + KINDS[kind] +
      '  len ' + p[b + 2] + '  at ' + fmtT(p[b])];
  lines.push('seq ' + p[b + 3] + (p[b + 4] >= 0 ? '  ack ' + p[b + 4] : '') + '  win ' + p[b + 5]);
  const names = MARKS.filter(([bit]) => p[b + 6] & bit).map(([, n]) => n);
  if (names.length) lines.push(names.join(', '));
  return lines.join('\n');
}

function hover(e) {
  const tip = $('tooltip');
  const r = e.target === tl ? rowAt(e) : null;
  if (!r || !r.c) { tip.style.display = 'none'; return; }
  const c = r.c;
  const rect = tl.getBoundingClientRect();
  const mx = e.clientX - rect.left;
  let text = '#' + c.id + ' ' + c.client + ' \u2192 ' + c.server + '  ' + c.stateLabel + '  ' + fmtDur(c.dur);
  if (mx > LW) {
    const wantDir = r.y < ROW / 2 ? 0 : 1;
    const tA = tOf(mx - 4), tB = tOf(mx + 4);
    let best = -1, bestDx = 1e9;
    for (let i = lowerBound(c, tA); i < c.np && c.pk[i * 7] <= tB; i++) {
      if ((c.pk[i * 7 + 1] & 1) !== wantDir) continue;
      const dx = Math.abs(xOf(c.pk[i * 7]) - mx);
      if (dx < bestDx) { bestDx = dx; best = i; }
    }
    if (best >= 0) text += '\n' + packetText(c, best);
    else text += '\nat ' + fmtT(tOf(mx));
    const mark = markText(c, tA, tB);
    if (mark) text += '\n' + mark;
  }
  tip.textContent = text;
  tip.style.display = 'block';
  tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4) + 'px';
  tip.style.top = (e.clientY + 16) + 'px';
}

// ---- the table ----
function tableHead() {
  $('cols').innerHTML = COLS.map((c) => '<col style="width:' + c.w + 'px">').join('');
  $('thead').innerHTML = COLS.map((c) =>
    '<th data-k="' + c.k + '" class="' + (c.k === sortKey ? 'sorted' + (sortAsc ? '' : ' desc') : '') +
    '">' + esc(c.t) + '</th>').join('');
}
$('thead').addEventListener('click', (e) => {
  const th = e.target.closest('th');
  if (!th) return;
  if (sortKey === th.dataset.k) sortAsc = !sortAsc; else { sortKey = th.dataset.k; sortAsc = true; }
  tableHead();
  sortOrder();
  renderTable();
});

function renderTable() {
  const sc = $('tbl-scroll');
  const head = 24;
  const top = Math.max(0, sc.scrollTop - head);
  const h = sc.clientHeight || 400;
  const first = Math.max(0, Math.floor(top / TR) - 4);
  const last = Math.min(order.length, Math.ceil((top + h) / TR) + 4);
  const parts = ['<tr style="height:' + first * TR + 'px"></tr>'];
  for (let i = first; i < last; i++) {
    const c = order[i];
    parts.push('<tr class="row' + (c === selected ? ' sel' : '') + '" data-id="' + c.id + '">' +
      COLS.map((col) => {
        const v = col.v(c);
        return '<td' + (col.num ? ' class="num"' : '') + '>' + esc(col.f ? col.f(v) : v) + '</td>';
      }).join('') + '</tr>');
  }
  parts.push('<tr style="height:' + (order.length - last) * TR + 'px"></tr>');
  $('tbody').innerHTML = parts.join('');
}
$('tbl-scroll').addEventListener('scroll', () => renderTable());
$('tbody').addEventListener('click', (e) => {
  const tr = e.target.closest('tr.row');
  if (tr) select(Number(tr.dataset.id), 'table');
});
for (const id of ['f-host', 'f-port', 'f-http']) $(id).addEventListener('input', applyFilters);
for (const id of ['f-state', 'f-retx']) $(id).addEventListener('change', applyFilters);

document.addEventListener('keydown', (e) => {
  const tag = e.target.tagName;
  if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    if (!order.length) return;
    e.preventDefault();
    let i = selected && selected.oi !== undefined && order[selected.oi] === selected ? selected.oi : -1;
    i = e.key === 'ArrowDown' ? Math.min(order.length - 1, i + 1) : Math.max(0, i - 1);
    select(order[i].id, 'keys');
  } else if (e.key === '+' || e.key === '=') {
    zoomAt(LW + plotW() / 2, 0.5);
  } else if (e.key === '-') {
    zoomAt(LW + plotW() / 2, 2);
  } else if (e.key === 'z' && selected) {
    zoomTo(selected);
  } else if (e.key === '0') {
    view = fullView(); schedule();
  }
});

function select(id, from) {
  selected = byId.get(id) || null;
  if (selected) {
    const sc = $('tbl-scroll');
    if (order[selected.oi] === selected) {
      const y = selected.oi * TR + 24;
      if (y < sc.scrollTop + 24 || y + TR > sc.scrollTop + sc.clientHeight) {
        sc.scrollTop = Math.max(0, y - sc.clientHeight / 2);
      }
    }
    if (selected.row >= 0 && from !== 'timeline') {
      const y = selected.row * ROW;
      if (y < scroller.scrollTop || y + ROW > scroller.scrollTop + H - AXIS) {
        scroller.scrollTop = Math.max(0, y - (H - AXIS) / 2);
      }
    }
    if (from !== 'timeline' && (selected.end < view.t0 || selected.start > view.t1)) {
      const span = view.t1 - view.t0, mid = (selected.start + selected.end) / 2;
      view = {t0: mid - span / 2, t1: mid + span / 2};
    }
  }
  renderTable();
  schedule();
  renderDetail();
}

// ---- the detail pane ----
let seqDir = 1;
const STAT_ROWS = [
  ['packets', 'st', 'packets'], ['payload bytes', 'st', 'payload_bytes'],
  ['unique bytes', 'st', 'unique_bytes'], ['retransmitted bytes', 'st', 'retransmitted_bytes'],
  ['gap bytes', 'st', 'gap_bytes'], ['dropped bytes (caps)', 'st', 'dropped_bytes'],
  ['conflicting overlaps', 'st', 'conflicting_overlaps'],
  ['retransmissions', 'an', 'retransmission'], ['fast retransmissions', 'an', 'fast_retransmission'],
  ['spurious retransmissions', 'an', 'spurious_retransmission'], ['out-of-order', 'an', 'out_of_order'],
  ['lost segments', 'an', 'lost_segment'], ['ACKs of unseen segments', 'an', 'ack_lost_segment'],
  ['duplicate ACKs', 'an', 'duplicate_ack'], ['zero windows', 'an', 'zero_window'],
  ['keep-alives', 'an', 'keep_alive'],
];

function renderDetail() {
  const el = $('detail');
  const c = selected;
  if (!c) { el.innerHTML = '<p class="hint">Select a connection.</p>'; return; }
  const kv = [
    ['state', c.state || '-'], ['history', c.hist || '-'], ['ended', c.close],
    ['start', fmtT(c.start)], ['duration', fmtDur(c.dur)], ['handshake RTT', fmtDur(c.rtt)],
  ];
  if (c.vlan[0] >= 0 || c.vlan[1] >= 0) kv.push(['VLAN', c.vlan.join(' / ')]);
  let html = '<h2 id="d-title">#' + c.id + ' ' + esc(c.client) + ' \u2192 ' + esc(c.server) + '</h2>';
  html += '<div class="kv">' + kv.map(([k, v]) => '<span>' + k + ' <b data-k="' + k + '">' + esc(v) + '</b></span>').join('') + '</div>';
  if (c.reuse > 0) {
    html += '<div class="kv"><span>reuses the 4-tuple (c' + c.reuse + ')' +
      (c.prev !== null ? ' of <a class="goto" data-goto="' + c.prev + '">#' + c.prev + '</a>' : '') + '</span></div>';
  }
  const next = conns.filter((o) => o.prev === c.id);
  if (next.length) {
    html += '<div class="kv"><span>its 4-tuple is reused by ' + next.map((o) =>
      '<a class="goto" data-goto="' + o.id + '">#' + o.id + '</a>').join(', ') + '</span></div>';
  }
  html += '<table class="stats" id="d-stats"><tr><th></th><th>client\u2192server</th><th>server\u2192client</th></tr>';
  for (const [label, grp, key] of STAT_ROWS) {
    html += '<tr data-k="' + key + '"><td>' + label + '</td><td>' + fmtN(c[grp][0][key]) + '</td><td>' +
      fmtN(c[grp][1][key]) + '</td></tr>';
  }
  html += '</table>';
  if (c.f.length) {
    html += '<h3>Findings</h3><ul class="findings" id="d-findings">' + c.f.map((f) =>
      '<li>' + fmtT(f[2]) + ' ' + (f[1] ? 'server\u2192client' : 'client\u2192server') + ': ' + esc(f[5]) + '</li>').join('') + '</ul>';
  }
  html += '<h3>Time/sequence <span class="seqbar"><button type="button" data-dir="0">client\u2192server</button> ' +
    '<button type="button" data-dir="1">server\u2192client</button></span></h3><canvas id="d-seq"></canvas>';
  if (c.stride > 1) html += '<div class="note">Sampled: ' + c.np + ' of ' + c.pseen + ' packets are drawn.</div>';
  if (c.http.length) {
    html += '<h3>HTTP <span class="wf-legend"><span class="wf-connect"></span>connect<span class="wf-send"></span>send' +
      '<span class="wf-wait"></span>wait<span class="wf-receive"></span>receive</span></h3><div class="wf" id="d-http"></div>';
  }
  if (c.ex.length || c.ml) {
    html += '<h3>Exchanges</h3><table class="ex" id="d-ex"><tr><th>start</th><th>request</th><th>answer</th><th>latency</th></tr>' +
      c.ex.map((x) => '<tr class="' + (x.e !== null ? 'ex-err' : '') + '"><td>' + fmtT(x.t0) + '</td><td>' + esc(x.p + ' ' + x.q) +
        '</td><td>' + esc(x.e !== null ? 'error: ' + x.e : (x.a || (x.lat === null ? 'no answer' : ''))) + '</td><td>' +
        (x.lat !== null ? fmtDur(x.lat) : '') + '</td></tr>').join('') + '</table>';
  }
  if (c.ml) html += '<div class="note" id="d-ml">' + fmtN(c.ml) + ' more exchanges on this connection are not drawn (the report keeps the first ' + fmtN(c.http.length + c.ex.length) + ').</div>';
  html += '<h3>First bytes</h3><div class="fb"><div>client\u2192server<pre id="fb0"></pre></div>' +
    '<div>server\u2192client<pre id="fb1"></pre></div></div>';
  el.innerHTML = html;
  const pv = previews()[c.ix] || ['', false, '', false];
  for (let d = 0; d < 2; d++) {
    $('fb' + d).textContent = (pv[2 * d] + (pv[2 * d + 1] ? '\n[\u2026 cut]' : '')) || '(no data)';
  }
  for (const a of el.querySelectorAll('a.goto')) a.addEventListener('click', () => select(Number(a.dataset.goto), 'detail'));
  seqDir = c.st[1].payload_bytes >= c.st[0].payload_bytes ? 1 : 0;
  for (const b of el.querySelectorAll('.seqbar button')) {
    b.addEventListener('click', () => { seqDir = Number(b.dataset.dir); drawSeq(c); });
  }
  drawSeq(c);
  if (c.http.length) waterfall(c);
}

function niceStep(range, n) {
  const raw = range / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function drawSeq(c) {
  for (const b of document.querySelectorAll('.seqbar button')) b.classList.toggle('on', Number(b.dataset.dir) === seqDir);
  const cv = $('d-seq');
  const w = cv.clientWidth || 500, h = cv.clientHeight || 240;
  const r = window.devicePixelRatio || 1;
  cv.width = Math.round(w * r); cv.height = Math.round(h * r);
  const ctx = cv.getContext('2d');
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = '10px system-ui, sans-serif';
  const L = 62, R = 10, T = 10, B = 22;
  const d = seqDir, p = c.pk;
  let yMax = 1, ackMax = 0;
  for (let i = 0; i < c.np; i++) {
    const b = i * 7, dir = p[b + 1] & 1;
    if (dir === d) yMax = Math.max(yMax, p[b + 3] + p[b + 2]);
    else if (p[b + 4] >= 0) ackMax = Math.max(ackMax, p[b + 4]);
  }
  yMax = Math.max(yMax, ackMax);
  let winMax = 0;
  for (let i = 0; i < c.np; i++) {
    const b = i * 7;
    if ((p[b + 1] & 1) !== d && p[b + 4] >= 0) winMax = Math.max(winMax, p[b + 4] + p[b + 5]);
  }
  yMax = Math.max(yMax, Math.min(winMax, yMax * 2)) * 1.05 + 1;
  const ta = c.start, tb = Math.max(c.end, c.start + 1), span = tb - ta;
  const X = (t) => L + (t - ta) / span * (w - L - R);
  const Y = (s) => h - B - s / yMax * (h - T - B);
  ctx.strokeStyle = '#e0e0e0'; ctx.fillStyle = '#616161';
  const ys = niceStep(yMax, 5);
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (let s = 0; s <= yMax; s += ys) {
    ctx.beginPath(); ctx.moveTo(L, Y(s) + 0.5); ctx.lineTo(w - R, Y(s) + 0.5); ctx.stroke();
    ctx.fillText(fmtN(s), L - 4, Y(s));
  }
  const xs = niceStep(span, 5);
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  for (let t = 0; t <= span; t += xs) {
    ctx.beginPath(); ctx.moveTo(X(ta + t) + 0.5, T); ctx.lineTo(X(ta + t) + 0.5, h - B); ctx.stroke();
    ctx.fillText('+' + fmtDur(t), X(ta + t), h - B + 4);
  }
  ctx.save();
  ctx.beginPath(); ctx.rect(L, T, w - L - R, h - T - B); ctx.clip();
  // the peer's ACKs and ACK + window, as steps
  for (const [col, withWin] of [['#2e7d32', false], ['#ef6c00', true]]) {
    ctx.strokeStyle = col;
    ctx.setLineDash(withWin ? [4, 3] : []);
    ctx.beginPath();
    let started = false, lastY = 0;
    for (let i = 0; i < c.np; i++) {
      const b = i * 7;
      if ((p[b + 1] & 1) === d || p[b + 4] < 0) continue;
      const x = X(p[b]), y = Y(p[b + 4] + (withWin ? p[b + 5] : 0));
      if (!started) { ctx.moveTo(x, y); started = true; } else { ctx.lineTo(x, lastY); ctx.lineTo(x, y); }
      lastY = y;
    }
    if (started) ctx.lineTo(X(tb), lastY);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  // this direction's segments: a vertical stroke from seq to seq + len
  for (let i = 0; i < c.np; i++) {
    const b = i * 7;
    if ((p[b + 1] & 1) !== d) continue;
    const kind = p[b + 1] >> 1, x = X(p[b]);
    const retx = p[b + 6] & 1;
    ctx.strokeStyle = retx ? MARKER.retx : KIND_COLOR[kind];
    ctx.fillStyle = ctx.strokeStyle;
    if (p[b + 2] > 0) {
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x, Y(p[b + 3])); ctx.lineTo(x, Math.min(Y(p[b + 3]) - 2, Y(p[b + 3] + p[b + 2]))); ctx.stroke();
      ctx.lineWidth = 1;
    } else if (kind !== 6) {
      ctx.fillRect(x - 2, Y(p[b + 3]) - 2, 4, 4);
    }
  }
  ctx.restore();
  ctx.textAlign = 'left'; ctx.textBaseline = 'top';
  ctx.fillStyle = '#1565c0'; ctx.fillText('segments (seq..seq+len)', L + 6, T + 2);
  ctx.fillStyle = '#2e7d32'; ctx.fillText('peer ACK', L + 150, T + 2);
  ctx.fillStyle = '#ef6c00'; ctx.fillText('ACK + window (unscaled)', L + 210, T + 2);
}

function waterfall(c) {
  let lo = Infinity, hi = -Infinity;
  for (const h of c.http) {
    for (const t of [h.rq0, h.rq1, h.rs0, h.rs1]) if (t !== null) { lo = Math.min(lo, t); hi = Math.max(hi, t); }
  }
  const first = c.http[0];
  if (c.syn !== null && c.synack !== null && first && first.i === 1) lo = Math.min(lo, c.syn);
  const span = Math.max(hi - lo, 1);
  const pct = (t) => ((t - lo) / span * 100).toFixed(3) + '%';
  const bar = (cls, a, b, what) => (a === null || b === null || b < a) ? '' :
    '<div class="wf-' + cls + '" style="left:' + pct(a) + ';width:' + ((b - a) / span * 100).toFixed(3) +
    '%" title="' + what + ' ' + fmtDur(b - a) + '"></div>';
  $('d-http').innerHTML = c.http.map((h) => {
    const label = httpLabel(h);
    const conn = h.i === 1 && c.syn !== null && c.synack !== null ? bar('connect', c.syn, c.synack, 'connect') : '';
    const wait = h.rq1 !== null && h.rs0 !== null ? bar('wait', h.rq1, h.rs0, 'wait') : '';
    return '<div class="wf-row" data-status="' + h.st + '"><div class="wf-label" title="' + esc(label) + '">' +
      esc(label) + '</div><div class="wf-track">' + conn + bar('send', h.rq0, h.rq1, 'send') + wait +
      bar('receive', h.rs0, h.rs1, 'receive') + '</div><div>' + (h.rs1 !== null && h.rq0 !== null ? fmtDur(h.rs1 - h.rq0) : '') + '</div></div>';
  }).join('');
}

// ---- first view ----
header();
tableHead();
applyFilters();
const firstViewMs = performance.now() - t_start;
window.tcpscribe = {
  data: D,
  get view() { return {...view}; },
  set view(v) { view = {...v}; draw(); },
  get selected() { return selected ? selected.id : null; },
  get rows() { return rows.length; },
  axis,
  xOf, tOf, select, draw, zoomTo: (id) => zoomTo(byId.get(id)),
  timelineRow: (id) => { const c = byId.get(id); return c ? c.row : -1; },
  layout: {ROW, AXIS, LW},
  firstViewMs,
  readyAt: performance.now(),  // since navigation start: parse, JSON, first drawing
};
document.body.dataset.ready = '1';
})();
