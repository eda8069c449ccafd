// app.js: the console's pages (issue 11 section 3, docs/console.md), drawn from the JSON
// API under /api/. Plain DOM, no framework, nothing loaded from elsewhere.
//
// Security: text that comes from mail (subjects, addresses, headers, bodies, reasons) is
// only ever put into the page with textContent or createTextNode (the el() helper below);
// no innerHTML, no insertAdjacentHTML, no document.write, no URL built from message data
// is ever followed. Every state-changing request carries the session's CSRF token in
// X-CSRF-Token. Confirmations use the page's own <dialog>, never window.confirm().
'use strict';

const state = { csrf: '', me: null, view: '' };

// ---------- small DOM helpers (text only) ----------
const $ = (id) => document.getElementById(id);

// el('td', {className: 'x'}, 'text', child...): children that are strings become text
// nodes; attributes are set as properties (never as HTML).
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
    else e[k] = v;
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function notice(msg, bad) {
  const n = $('notice');
  n.textContent = msg || '';
  n.classList.toggle('hidden', !msg);
  n.classList.toggle('bad', !!bad);
}

function fail(e) { notice(e && e.message ? e.message : String(e), true); }

// The page's own confirmation (a <dialog>); resolves true when OK is pressed.
function confirmAction(text) {
  const d = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.returnValue = '';
    d.showModal();
  });
}

// ---------- API ----------
class ApiError extends Error {
  constructor(status, message, data) { super(message); this.status = status; this.data = data; }
}

async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = state.csrf;
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const res = await fetch(path, opt);
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== '/api/login' && path !== '/api/me') {
    showLogin('Your session ended: sign in again.');
    throw new ApiError(401, 'not signed in', data);
  }
  // 409: some items of a release/delete failed; the caller reads "results".
  if (!res.ok && !(res.status === 409 && data.results))
    throw new ApiError(res.status, data.error || res.status + ' ' + res.statusText, data);
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

// Outcome of a per-id action as one line for the notice; true when all went well.
function reportResults(what, r) {
  const items = r.results || [];
  const bad = items.filter((x) => !x.ok);
  // Issue 11: a helpdesk release that needs an admin's approval is filed as a request.
  const requested = items.filter((x) => x.ok && x.request);
  const good = items.length - bad.length - requested.length;
  let msg = what + ': ' + good + ' done';
  if (requested.length) {
    msg += ', ' + requested.length + ' need an admin\'s approval: filed as request ' + requested.map((x) => x.request).join(', ');
    updateRequestBadge();
  }
  if (bad.length) msg += ', ' + bad.length + ' refused (' + bad.map((x) => x.id + ': ' + x.error).join('; ') + ')';
  notice(msg, bad.length > 0);
  return bad.length === 0;
}

// ---------- formatting ----------
const pad = (n) => String(n).padStart(2, '0');
function utc(t) {
  if (t === null || t === undefined) return '';
  const d = new Date(t * 1000);
  return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
    pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
}
function size(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}
// Seconds from a date input (YYYY-MM-DD, UTC midnight) to now, as the API's age; '' if none.
function ageOf(dateText, endOfDay) {
  if (!dateText) return '';
  const t = Date.parse(dateText + 'T00:00:00Z') / 1000 + (endOfDay ? 86400 : 0);
  const now = Date.now() / 1000;
  if (Number.isNaN(t) || t >= now) return '';  // a bound in the future is no bound
  return String(Math.floor(now - t));
}
// The network offered for "release and allow": the client's /24 (IPv4) or /64 (IPv6).
function netOf(ip) {
  ip = (ip || '').replace(/^::ffff:(?=\d+\.)/i, '');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.split('.').slice(0, 3).join('.') + '.0/24';
  if (!ip.includes(':')) return '';
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [], t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':') + '::/64';
}
function domainOf(addr) {
  const at = (addr || '').lastIndexOf('@');
  return at < 0 ? '' : addr.slice(at + 1).toLowerCase();
}

function table(headers, rows) {
  return el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h) =>
      typeof h === 'string' ? el('th', {}, h) : h))),
    el('tbody', {}, rows));
}
function emptyRow(cols, text) { return el('tr', {}, el('td', { colSpan: cols, className: 'muted' }, text)); }
function tile(n, label, id) { return el('div', { className: 'tile', id: id || '' }, el('div', { className: 'n' }, String(n)), el('div', { className: 'l' }, label)); }
function badge(status) { return el('span', { className: 'badge ' + status }, status); }

// Fields of a filter form as an object of strings.
function formValues(form) {
  const o = {};
  for (const [k, v] of new FormData(form).entries()) o[k] = String(v).trim();
  return o;
}

// ---------- charts (hand-written SVG) ----------
const COLORS = {
  accept: '#2e9e5b', pass: '#2e9e5b', tag: '#e0b400', quarantine: '#f08c00', softfail: '#f08c00',
  tempfail: '#8e6bd1', temperror: '#8e6bd1', reject: '#d6402b', fail: '#d6402b',
  permerror: '#8c1d18', neutral: '#98a2b3', none: '#d0d5dd', policy: '#4f7fd9',
};
const PALETTE = ['#4f7fd9', '#15a3a3', '#c2459b', '#7a8b2e', '#b06c3a', '#5a5fd6'];
function colorOf(key, i) { return COLORS[key] || PALETTE[i % PALETTE.length]; }

// Stacked bars per hour of `series` ({value: [count per hour]}) from `start` (Unix s).
function stackedChart(title, series, start, hours) {
  const keys = Object.keys(series).sort((a, b) => sum(series[b]) - sum(series[a]));
  const W = 720, H = 210, L = 36, R = 8, T = 10, B = 26;
  const totals = [];
  for (let i = 0; i < hours; i++) totals.push(keys.reduce((s, k) => s + (series[k][i] || 0), 0));
  const max = niceMax(Math.max(1, ...totals));
  const bw = (W - L - R) / hours;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    g.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e4e7ec' }));
    g.appendChild(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, String(Math.round(v))));
  }
  const every = hours <= 24 ? 3 : 24;
  for (let i = 0; i < hours; i++) {
    let base = 0;
    const x = L + i * bw;
    for (const [ki, k] of keys.entries()) {
      const v = series[k][i] || 0;
      if (!v) continue;
      const r = svg('rect', { x: x + bw * 0.1, width: Math.max(1, bw * 0.8), y: y(base + v), height: y(base) - y(base + v), fill: colorOf(k, ki) });
      r.appendChild(svg('title', {}, utc(start + i * 3600) + ' UTC  ' + k + ': ' + v));
      g.appendChild(r);
      base += v;
    }
    const t = new Date((start + i * 3600) * 1000);
    if (t.getUTCHours() % every === 0) {
      const label = hours <= 24 ? pad(t.getUTCHours()) + 'h' : pad(t.getUTCMonth() + 1) + '-' + pad(t.getUTCDate());
      g.appendChild(svg('text', { x: x + bw / 2, y: H - 8, 'text-anchor': 'middle' }, label));
    }
  }
  g.appendChild(svg('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: '#98a2b3' }));
  const legend = el('div', { className: 'legend' }, keys.map((k, i) => {
    const sw = el('span', { className: 'sw' });
    sw.style.background = colorOf(k, i);
    return el('span', {}, sw, k + ' ' + sum(series[k]));
  }));
  if (!keys.length) legend.appendChild(el('span', { className: 'muted' }, 'no messages in this range'));
  return el('div', { className: 'card chart' }, el('h2', {}, title), g, legend);
}
function sum(a) { return (a || []).reduce((s, v) => s + v, 0); }
// The chart's top: four equal whole-number steps of 1, 2 or 5 times a power of ten.
function niceMax(v) {
  const raw = Math.max(1, v / 4);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return 4 * m * p;
  return 4 * raw;
}

// ---------- views ----------
const views = {};

views.dashboard = async (root) => {
  const hours = Number(sessionStorage.getItem('mxg-hours') || 24);
  const pick = el('div', { className: 'toolbar' }, 'Range:',
    ...[[24, '24 hours'], [168, '7 days']].map(([h, label]) =>
      el('button', { type: 'button', className: h === hours ? 'primary' : '', on: { click: () => { sessionStorage.setItem('mxg-hours', h); route(); } } }, label)));
  root.append(el('h1', {}, 'Dashboard'), pick);
  const [d, q, st, fails] = await Promise.all([
    api('GET', '/api/dashboard' + query({ hours })),
    api('GET', '/api/queue').catch(() => null),
    api('GET', '/api/status').catch(() => null),
    topFailing(hours),
  ]);
  const s = d.series || {};
  const inbound = sum(Object.values(s.action || {}).reduce((a, v) => a.concat(v), []));
  root.append(el('div', { className: 'tiles' },
    tile(inbound, 'inbound messages, ' + (hours === 24 ? '24 h' : '7 days'), 'tile-inbound'),
    tile(d.quarantine_open, 'held in quarantine', 'tile-quarantine'),
    tile(q ? q.count : '?', 'in the queue', 'tile-queue'),
    st ? tile(st.delivery ? st.delivery.state : '?', 'delivery') : null));
  root.append(el('div', { className: 'charts' },
    stackedChart('Messages per hour by action', s.action || {}, d.start, d.hours),
    stackedChart('Messages per hour by SPF result', s.spf || {}, d.start, d.hours),
    stackedChart('Messages per hour by DMARC result', s.dmarc || {}, d.start, d.hours),
    el('div', { className: 'card' }, el('h2', {}, 'Top sender domains failing SPF'),
      fails.list.length ? table(['domain', el('th', { className: 'num' }, 'fail'), el('th', { className: 'num' }, 'softfail')],
        fails.list.map((f) => el('tr', {}, el('td', { className: 'mono' }, f.domain), el('td', { className: 'num' }, f.fail), el('td', { className: 'num' }, f.softfail))))
        : el('p', { className: 'muted' }, 'No SPF failures in this range.'),
      fails.capped ? el('p', { className: 'muted' }, 'Counted over the newest 1000 records of each result.') : null)));
  if (st) root.append(statusCard(st));
};

// The daemon's counters since it started (/api/status, as `mxguard status`).
function statusCard(st) {
  const rows = [['SMTP sessions', st.sessions], ['refused sessions', st.refused_sessions],
    ['messages received', st.messages], ['queue errors', st.queue_errors], ['draining', st.draining ? 'yes' : 'no'],
    ['delivery', st.delivery ? st.delivery.state + (st.delivery.reason ? ' (' + st.delivery.reason + ')' : '') +
      (st.delivery.rules !== undefined ? ', ' + st.delivery.rules + ' routing rule(s)' : '') : '?']];
  if (st.history) rows.push(['history written', st.history.written], ['history failed / dropped', st.history.failed + ' / ' + st.history.dropped]);
  return el('div', { className: 'card', id: 'status' }, el('h2', {}, 'Gateway since start'),
    el('dl', { className: 'fields' }, rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))])));
}

// Sender domains with the most SPF fail/softfail results in the history of the range.
async function topFailing(hours) {
  const since = hours * 3600;
  const counts = new Map();
  let capped = false;
  for (const result of ['fail', 'softfail']) {
    const r = await api('GET', '/api/history' + query({ result, since, limit: 1000 })).catch(() => ({ messages: [] }));
    if (r.messages.length >= 1000) capped = true;
    for (const m of r.messages) {
      if (m.spf_result !== result) continue;
      const dom = m.spf_domain || domainOf(m.sender) || '(none)';
      const c = counts.get(dom) || { domain: dom, fail: 0, softfail: 0 };
      c[result]++;
      counts.set(dom, c);
    }
  }
  const list = [...counts.values()].sort((a, b) => (b.fail + b.softfail) - (a.fail + a.softfail)).slice(0, 10);
  return { list, capped };
}

views.quarantine = async (root, openId) => {
  const form = el('form', { id: 'q-filter', className: 'card filters' },
    el('label', {}, 'Sender domain', el('input', { name: 'domain', placeholder: 'example.com' })),
    el('label', {}, 'Reason', el('select', { name: 'reason' }, ['', 'spf', 'dmarc', 'backscatter', 'dnsbl'].map((v) => el('option', { value: v }, v || 'any')))),
    el('label', {}, 'Rule', el('input', { name: 'rule', size: 12 })),
    el('label', {}, 'SPF result', el('select', { name: 'result' }, ['', 'pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'].map((v) => el('option', { value: v }, v || 'any')))),
    el('label', {}, 'Recipient', el('input', { name: 'recipient', size: 18 })),
    el('label', {}, 'From (UTC)', el('input', { name: 'from', type: 'date' })),
    el('label', {}, 'To (UTC)', el('input', { name: 'to', type: 'date' })),
    el('label', { className: 'check' }, el('input', { name: 'all', type: 'checkbox', value: '1' }), 'released and deleted too'),
    el('button', { type: 'submit', className: 'primary' }, 'Filter'));
  const list = el('div', { id: 'q-list' });
  const detail = el('div', { id: 'q-detail' });
  const actions = el('div', { className: 'toolbar' },
    el('button', { type: 'button', id: 'q-release-sel', on: { click: () => actSelected('release') } }, 'Release selected'),
    el('button', { type: 'button', id: 'q-delete-sel', on: { click: () => actSelected('delete') } }, 'Delete selected'),
    el('span', { id: 'q-count', className: 'muted' }));
  root.append(el('h1', {}, 'Quarantine'), form, actions, el('div', { className: 'split' }, list, detail));

  let selected = new Set();
  async function load() {
    const f = formValues(form);
    const params = { domain: f.domain, reason: f.reason, rule: f.rule, result: f.result, recipient: f.recipient,
      since: ageOf(f.from, false), until: ageOf(f.to, true), all: f.all };
    const r = await api('GET', '/api/quarantine' + query(params));
    selected = new Set([...selected].filter((id) => r.messages.some((m) => m.id === id)));
    $('q-count').textContent = r.count + ' message' + (r.count === 1 ? '' : 's') + (r.count >= 500 ? ' (the newest 500: narrow the filter)' : '');
    const rows = r.messages.map((m) => {
      const box = el('input', { type: 'checkbox', checked: selected.has(m.id), title: 'select', on: {
        click: (ev) => ev.stopPropagation(),
        change: (ev) => { if (ev.target.checked) selected.add(m.id); else selected.delete(m.id); } } });
      return el('tr', { className: 'clickable', tabIndex: 0, data: { id: m.id }, on: {
        click: () => show(m.id).catch(fail),
        keydown: (ev) => { if (ev.key === 'Enter' && ev.target === ev.currentTarget) show(m.id).catch(fail); } } },
        el('td', {}, box), el('td', { className: 'nowrap' }, utc(m.time)), el('td', {}, m.sender || '<>'),
        el('td', {}, m.recipients.join(', ')), el('td', {}, m.subject),
        el('td', {}, m.check + (m.rule ? ' / ' + m.rule : '') + (m.spf_result ? ' (' + m.spf_result + ')' : '')),
        el('td', {}, badge(m.status)));
    });
    list.replaceChildren(table(['', 'Time (UTC)', 'Sender', 'Recipients', 'Subject', 'Why', 'Status'],
      rows.length ? rows : [emptyRow(7, 'Nothing held matches.')]));
    list.dataset.gen = String(Number(list.dataset.gen || 0) + 1);  // a new list is drawn
  }

  async function act(what, ids, label) {
    if (!ids.length) return notice('Select messages first.', true);
    if (!(await confirmAction(label || (what === 'release' ? 'Release ' : 'Delete ') + ids.length + ' message(s)?'))) return;
    reportResults(what === 'release' ? 'Release' : 'Delete', await api('POST', '/api/quarantine/' + what, { ids }));
    selected.clear();
    detail.replaceChildren();
    await load();
  }
  async function actSelected(what) { await act(what, [...selected]).catch(fail); }

  async function releaseDomain(domain) {
    if (!(await confirmAction('Release every held message from ' + domain + ' that you can see?'))) return;
    const r = await api('POST', '/api/quarantine/release-domain', { domain });
    reportResults('Release all from ' + domain, r);
    detail.replaceChildren();
    await load();
  }

  // "Release and allow" (issue 11): the release plus a policy exception whose scope
  // the admin chooses in this dialog: this sender, or this sender domain from a network
  // (the client's /24 or /64 offered, editable). Values go in as text and properties.
  async function releaseAllow(e) {
    const d = el('dialog', { id: 'allow-dialog' });
    const netInput = el('input', { name: 'net', id: 'allow-net', size: 24, value: netOf(e.client_ip) });
    const radio = (value, label, checked) => el('label', { className: 'check' },
      el('input', { type: 'radio', name: 'scope', value, checked, id: 'allow-scope-' + value }), label);
    const form = el('form', { method: 'dialog' },
      el('p', {}, 'Release message ' + e.id + ' and accept (with a tag) later mail that SPF or DMARC would quarantine or reject, only for:'),
      radio('sender', 'this sender: ' + e.sender, true),
      radio('domain_net', 'this sender domain ' + e.sender_domain + ' from the network:', false),
      el('label', {}, 'Network (CIDR)', netInput),
      el('label', {}, 'Allow for', el('input', { name: 'expires', id: 'allow-expires', size: 8, value: '30d', title: '30d, 12h, ... or never' })),
      el('label', {}, 'Note', el('input', { name: 'note', id: 'allow-note', size: 30 })),
      el('p', { className: 'muted' }, 'DMARC is excepted only when the From domain is ' + e.sender_domain + '.'),
      el('menu', {}, el('button', { value: 'cancel', id: 'allow-cancel' }, 'Cancel'),
        el('button', { value: 'ok', id: 'allow-ok', className: 'danger' }, 'Release and allow')));
    d.append(form);
    document.body.append(d);
    const ok = await new Promise((resolve) => {
      d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
      d.showModal();
    });
    const f = new FormData(form);
    d.remove();
    if (!ok) return;
    const body = { id: e.id, scope: f.get('scope'), net: f.get('scope') === 'domain_net' ? f.get('net') : '', note: f.get('note') || '', expires: f.get('expires') || '' };
    const r = await api('POST', '/api/quarantine/release-allow', body);
    if (reportResults('Release and allow', r) && r.exception)
      notice('Released; exception ' + r.exception.id + ' added for ' +
        (r.exception.scope === 'sender' ? r.exception.sender : r.exception.domain + ' from ' + r.exception.net));
    detail.replaceChildren();
    await load();
  }

  async function show(id) {
    for (const tr of list.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    for (const tr of list.querySelectorAll('tr[data-id]')) if (tr.dataset.id === id) tr.classList.add('selected');
    const m = await api('GET', '/api/quarantine/' + encodeURIComponent(id));
    const e = m.entry;
    const dom = e.sender_domain;
    const fields = [['Queue id', e.id], ['Received', utc(e.time) + ' UTC'], ['Sender', e.sender || '<>'],
      ['Recipients', e.recipients.join(', ')], ['Subject', e.subject], ['Client', e.client_ip + (e.helo ? ' (HELO ' + e.helo + ')' : '')],
      ['Check', e.check + (e.rule ? ' / rule ' + e.rule : '')], ['Reason', e.reason],
      ['SPF', (e.spf_result || '') + (e.spf_domain ? ' for ' + e.spf_domain : '')], ['Size', size(e.size)],
      ['Status', e.status + (e.released_by ? ' by ' + e.released_by : '') + (e.deleted_by ? ' by ' + e.deleted_by : '')]];
    const held = e.status === 'held';
    detail.replaceChildren(el('div', { className: 'card', id: 'q-show' },
      el('h2', {}, 'Message ', el('span', { className: 'mono', id: 'q-show-id' }, e.id)),
      el('div', { className: 'toolbar' },
        el('button', { type: 'button', id: 'q-release', className: 'primary', disabled: !held, on: { click: () => act('release', [e.id], 'Release message ' + e.id + ' for delivery?').catch(fail) } }, 'Release'),
        el('button', { type: 'button', id: 'q-delete', disabled: !held, on: { click: () => act('delete', [e.id], 'Delete message ' + e.id + '?').catch(fail) } }, 'Delete'),
        held && e.sender && state.me.role === 'admin' ? el('button', { type: 'button', id: 'q-release-allow', on: { click: () => releaseAllow(e).catch(fail) } }, 'Release and allow...') : null,
        dom ? el('button', { type: 'button', id: 'q-release-domain', on: { click: () => releaseDomain(dom).catch(fail) } }, 'Release all from ' + dom) : null),
      el('dl', { className: 'fields' }, fields.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v || '')])),
      el('h2', {}, 'Headers'),
      el('pre', { id: 'q-headers' }, m.headers === undefined ? '(the message text is not readable: ' + (m.message_error || 'not in a queue') + ')' : m.headers),
      el('h2', {}, 'Body (as text; nothing in it is rendered or loaded)'),
      el('pre', { id: 'q-body' }, (m.body_text || '') + (m.body_truncated ? '\n[... truncated]' : ''))));
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); load().catch(fail); });
  await load();
  if (openId) await show(openId);
};

views.history = async (root) => {
  const form = el('form', { id: 'h-filter', className: 'card filters' },
    el('label', {}, 'Sender', el('input', { name: 'sender' })),
    el('label', {}, 'Recipient', el('input', { name: 'recipient' })),
    el('label', {}, 'Client IP', el('input', { name: 'client_ip', size: 15 })),
    el('label', {}, 'Queue id', el('input', { name: 'queue_id', size: 20 })),
    el('label', {}, 'Result', el('input', { name: 'result', size: 12, placeholder: 'reject, softfail...' })),
    el('label', {}, 'Since', el('select', { name: 'since' }, [['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['365d', '1 year']].map(([v, l]) => el('option', { value: v, selected: v === '7d' }, l)))),
    el('button', { type: 'submit', className: 'primary' }, 'Search'));
  const out = el('div', { id: 'h-list' });
  root.append(el('h1', {}, 'History'), form, out);
  async function load() {
    const r = await api('GET', '/api/history' + query(formValues(form)));
    const rows = [];
    for (const m of r.messages) {
      const detail = el('tr', { className: 'hidden' }, el('td', { colSpan: 8 },
        el('dl', { className: 'fields' },
          [['Message-ID', m.message_id], ['HELO', m.helo], ['Listener', m.listener], ['Header From', m.header_from],
            ['Reply', m.reply], ['Reason', m.reason], ['Size', size(m.size)]].map(([k, v]) => [el('dt', {}, k), el('dd', {}, v || '')])),
        m.decisions.length ? table(['check', 'action', 'rule', 'reason'], m.decisions.map((d) =>
          el('tr', {}, el('td', {}, d.check), el('td', {}, d.action + (d.monitor ? ' (monitor, would ' + d.would + ')' : '')), el('td', {}, d.rule), el('td', {}, d.reason)))) : null));
      rows.push(el('tr', { className: 'clickable', on: { click: () => detail.classList.toggle('hidden') } },
        el('td', { className: 'nowrap' }, utc(m.time)), el('td', {}, m.direction),
        el('td', { className: 'mono' }, m.decision === 'quarantine' && /^[A-Za-z0-9]+$/.test(m.queue_id)
          ? el('a', { href: '#quarantine/' + m.queue_id, title: 'open in the quarantine', on: { click: (ev) => ev.stopPropagation() } }, m.queue_id)
          : m.queue_id),
        el('td', {}, m.client_ip), el('td', {}, m.sender || '<>'), el('td', {}, m.recipients.join(', ')),
        el('td', {}, m.decision + (m.rule ? ' / ' + m.rule : '')),
        el('td', {}, 'SPF ' + (m.spf_result || '-') + ', DMARC ' + (m.dmarc_result || '-'))), detail);
    }
    out.replaceChildren(el('p', { className: 'muted' }, r.count + ' record(s), newest first; click one for its decisions.'),
      table(['Time (UTC)', 'Dir', 'Queue id', 'Client IP', 'Sender', 'Recipients', 'Decision', 'Results'],
        rows.length ? rows : [emptyRow(8, 'No record matches.')]));
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load().catch(fail); });
  await load();
};

// Policy exceptions made by "release and allow" (issue 11), each deletable after a confirmation.
async function exceptionsCard(box) {
  const r = await api('GET', '/api/exceptions');
  const rows = r.exceptions.map((x) => el('tr', { data: { id: String(x.id) } },
    el('td', { className: 'num' }, String(x.id)), el('td', {}, x.scope === 'sender' ? 'sender ' + x.sender : 'domain ' + x.domain + ' from ' + x.net),
    el('td', {}, x.created_by), el('td', { className: 'nowrap' }, x.created_text), el('td', { className: x.expired ? 'muted' : '' }, x.expires_at ? (x.expired ? 'expired ' : '') + utc(x.expires_at) : 'never'), el('td', {}, x.note),
    el('td', {}, el('button', { type: 'button', className: 'exc-delete', on: { click: () => (async () => {
      if (!(await confirmAction('Delete exception ' + x.id + '? Mail in its scope is decided by the policy again.'))) return;
      await api('DELETE', '/api/exceptions/' + x.id);
      notice('Exception ' + x.id + ' deleted.');
      await exceptionsCard(box);
    })().catch(fail) } }, 'Delete'))));
  box.replaceChildren(el('h2', {}, 'Policy exceptions ("release and allow")'),
    table(['id', 'scope', 'by', 'created (UTC)', 'expires', 'note', ''], rows.length ? rows : [emptyRow(7, 'No exceptions.')]));
}

views.policy = async (root) => {
  const sample = '[spf]\nenabled = true\n\n[spf.actions]\nfail = "reject"\nsoftfail = "quarantine"\n';
  const form = el('form', { id: 'p-form', className: 'card' },
    el('p', { className: 'muted' }, 'Paste a candidate [spf] section: it is run over the inbound history, nothing changes in the running gateway.'),
    el('textarea', { name: 'candidate', rows: 12, value: sample, spellcheck: false }),
    el('div', { className: 'toolbar' },
      el('label', {}, 'Over the history since', el('select', { name: 'since' }, [['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['90d', '90 days']].map(([v, l]) => el('option', { value: v, selected: v === '30d' }, l)))),
      el('button', { type: 'submit', className: 'primary' }, 'Simulate')));
  const out = el('div', { id: 'p-result' });
  const outcomes = el('div', { id: 'p-outcomes', className: 'card' }, el('h2', {}, 'Quarantine outcomes by rule, last 30 days'));
  const rules = el('div', { id: 'p-rules', className: 'card' }, el('h2', {}, 'Rules in force'));
  root.append(el('h1', {}, 'Policy'), rules, outcomes, el('h2', {}, 'Simulate a candidate'), form, out);
  await rulesInForce(rules);
  await ruleOutcomes(outcomes);
  const exc = el('div', { id: 'p-exceptions', className: 'card' });
  outcomes.after(exc);
  await exceptionsCard(exc);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = formValues(form);
    out.replaceChildren(el('p', { className: 'muted' }, 'Simulating...'));
    api('POST', '/api/policy/simulate', { candidate: form.elements.candidate.value, since: f.since }).then((r) => {
      const trans = Object.entries(r.transitions || {}).sort((a, b) => b[1] - a[1]);
      out.replaceChildren(
        el('div', { className: 'tiles' }, tile(r.records, 'records'), tile(r.skipped, 'skipped'), tile(r.trusted, 'trusted'),
          tile(r.would_reject, 'would be rejected', 'p-would-reject'), tile(r.would_reject_released, 'of them released by someone')),
        el('div', { className: 'card' }, el('h2', {}, 'Decisions that change (today -> candidate)'),
          trans.length ? table(['change', el('th', { className: 'num' }, 'messages')], trans.map(([k, v]) => el('tr', {}, el('td', { className: 'mono' }, k), el('td', { className: 'num' }, v))))
            : el('p', { className: 'muted' }, 'No decision changes.')),
        el('div', { className: 'card' }, el('h2', {}, 'By sender domain'),
          r.domains.length ? table(['domain', el('th', { className: 'num' }, 'messages'), 'from', 'to', el('th', { className: 'num' }, 'released')],
            r.domains.map((d) => el('tr', {}, el('td', { className: 'mono' }, d.domain), el('td', { className: 'num' }, d.messages), el('td', {}, d.from), el('td', {}, d.to), el('td', { className: 'num' }, d.released))))
            : el('p', { className: 'muted' }, 'No domain changes.')));
    }).catch((e) => out.replaceChildren(el('pre', { className: 'error', id: 'p-error' }, e.message)));
  });
};

// What became of quarantined messages per check and rule (the quarantine report): a
// rule whose messages are mostly released holds good mail.
async function ruleOutcomes(box) {
  const r = await api('GET', '/api/quarantine' + query({ all: 1, since: '30d', limit: 5000 }));
  const by = new Map();
  for (const m of r.messages) {
    const key = m.check + (m.rule ? ' / ' + m.rule : '');
    const o = by.get(key) || { key, held: 0, released: 0, deleted: 0, expired: 0 };
    o[m.status] = (o[m.status] || 0) + 1;
    by.set(key, o);
  }
  const rows = [...by.values()].sort((a, b) => b.released - a.released || a.key.localeCompare(b.key)).map((o) => {
    const total = o.held + o.released + o.deleted + o.expired;
    const decided = total - o.held;
    return el('tr', {}, el('td', { className: 'mono' }, o.key), el('td', { className: 'num' }, total),
      el('td', { className: 'num' }, o.held), el('td', { className: 'num' }, o.released),
      el('td', { className: 'num' }, o.deleted + o.expired),
      el('td', { className: 'num' }, decided ? Math.round((100 * o.released) / decided) + '%' : '-'));
  });
  const num = (t) => el('th', { className: 'num' }, t);
  box.append(rows.length
    ? table(['check / rule', num('quarantined'), num('held'), num('released'), num('deleted or expired'), num('release rate')], rows)
    : el('p', { className: 'muted' }, 'Nothing was quarantined in the last 30 days.'),
  el('p', { className: 'muted' }, 'Release rate: released among those decided (released, deleted or expired).' +
    (r.count >= 5000 ? ' Counted over the newest 5000 entries.' : '')));
}

// The running [spf], [dkim], [dmarc] and [dnsbl] sections (/api/policy): one row per
// section's global actions and per rule, in the order they are tried.
async function rulesInForce(box) {
  const p = await api('GET', '/api/policy');
  const acts = (a) => Object.entries(a || {}).map(([k, v]) => k + ' ' + v).join(', ') || '-';
  const row = (section, name, match, actions, monitor) => el('tr', {},
    el('td', {}, section), el('td', { className: 'mono' }, name), el('td', { className: 'mono' }, match),
    el('td', {}, actions), el('td', {}, monitor ? 'monitor' : ''));
  const rows = [];
  const onoff = (s) => (s && s.enabled ? '' : ' (off)');
  rows.push(row('spf' + onoff(p.spf), '(global)', 'stage ' + p.spf.reject_stage, acts(p.spf.actions), false));
  for (const r of p.spf.rules) rows.push(row('spf', r.name, r.domains.join(' '), acts(r.actions), r.monitor));
  rows.push(row('dkim' + onoff(p.dkim), '(global)', '', p.dkim.enabled ? 'verify' : '-', false));
  rows.push(row('dmarc' + onoff(p.dmarc), '(global)', p.dmarc.mode, acts(p.dmarc.actions), false));
  for (const r of p.dmarc.rules) rows.push(row('dmarc', r.name, r.domains.join(' '), acts(r.actions), r.monitor));
  rows.push(row('dnsbl' + onoff(p.dnsbl), '(global)', p.dnsbl.zones.map((z) => z.label || z.name).join(' '), acts(p.dnsbl.actions), p.dnsbl.monitor));
  for (const r of p.dnsbl.rules) rows.push(row('dnsbl', r.name, r.networks.join(' '), acts(r.actions), r.monitor));
  box.append(table(['section', 'rule', 'applies to', 'actions', ''], rows),
    el('p', { className: 'muted' }, 'As the running gateway parsed its configuration; rules are tried in this order, the first match decides.'));
}

views.lint = async (root) => {
  const form = el('form', { id: 'l-form', className: 'card filters' },
    el('label', {}, 'Domain (looked up with the gateway\'s resolver)', el('input', { name: 'domain', size: 30, placeholder: 'example.com' })),
    el('label', {}, 'or a record', el('input', { name: 'record', size: 60, placeholder: 'v=spf1 mx -all' })),
    el('div', {}, el('button', { type: 'submit', className: 'primary' }, 'Check')));
  const out = el('div', { id: 'l-result' });
  root.append(el('h1', {}, 'SPF linter'), form, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = formValues(form);
    if (!f.domain === !f.record) return notice('Give a domain or a record (one of them).', true);
    out.replaceChildren(el('p', { className: 'muted' }, 'Checking...'));
    api('POST', '/api/spf/lint', f.domain ? { domain: f.domain } : { record: f.record })
      .then((r) => out.replaceChildren(el('pre', { id: 'l-report' }, r.report.split('\n').map((line, i) => {
        // Colour by level ([ERROR], [WARN], [INFO]); the text stays as it is.
        const level = /^\[(ERROR|WARN|INFO)/.exec(line);
        return [i ? '\n' : '', level ? el('span', { className: 'lint-' + level[1].toLowerCase() }, line) : line];
      }))))
      .catch((e) => out.replaceChildren(el('pre', { className: 'error' }, e.message)));
  });
};

// Backscatter sources (/api/backscatter): the bounces the gateway quarantined, judged and
// ranked as `mxguard ndr report` does, with abuse contacts. Text only.
views.backscatter = async (root) => {
  const form = el('form', { id: 'b-form', className: 'toolbar' },
    el('label', {}, 'Bounces of the last', el('select', { name: 'since' }, [['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['90d', '90 days']].map(([v, l]) => el('option', { value: v, selected: v === '7d' }, l)))),
    el('button', { type: 'submit', className: 'primary' }, 'Show'));
  const out = el('div', { id: 'b-result' });
  root.append(el('h1', {}, 'Backscatter sources'), form, out);
  async function load() {
    out.replaceChildren(el('p', { className: 'muted' }, 'Judging the quarantined bounces...'));
    const r = await api('GET', '/api/backscatter' + query({ since: formValues(form).since }));
    const v = r.verdicts || {};
    const num = (t) => el('th', { className: 'num' }, t);
    const rows = r.sources.map((g, i) => el('tr', {},
      el('td', { className: 'num' }, i + 1),
      el('td', { className: 'mono' }, g.source),
      el('td', { className: 'mono' }, [...g.hosts, ...g.ips].join(' ')),
      el('td', { className: 'num' }, g.count),
      el('td', {}, utc(g.first_seen) + ' .. ' + utc(g.last_seen)),
      el('td', { className: 'mono' }, Object.entries(g.target_domains).map(([d, n]) => d + ' (' + n + ')').join(' ')),
      el('td', { className: 'mono' }, g.contacts.map((c) => c.address + ' [' + c.source + ']').join('; ')),
      el('td', {}, g.sample_subjects.join('; '))));
    out.replaceChildren(
      el('div', { className: 'tiles' }, tile(r.quarantined, 'quarantined bounces'), tile(r.bounces, 'bounce records'),
        tile(v.backscatter || 0, 'backscatter', 'b-backscatter'), tile(v.legitimate || 0, 'legitimate'), tile(v.unknown || 0, 'unknown')),
      el('div', { className: 'card' }, el('h2', {}, 'Sources that accepted forged mail, most bounces first'),
        table(['#', 'source', 'hosts and addresses', num('bounces'), 'seen', 'targets', 'abuse contacts', 'subjects'],
          rows.length ? rows : [emptyRow(8, 'No backscatter sources in this range.')])),
      el('p', { className: 'muted' }, 'From the bounces the backscatter filter quarantined (' + (r.unreadable || 0) +
        ' no longer in a queue); `mxguard ndr report --draft-reports DIR` writes the abuse reports.'));
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load().catch(fail); });
  await load();
};

views.queue = async (root) => {
  const form = el('form', { id: 'qu-filter', className: 'card filters' },
    el('label', {}, 'Queue (listener name; empty: all)', el('input', { name: 'queue', size: 16 })),
    el('button', { type: 'submit', className: 'primary' }, 'List'));
  let selected = new Set();
  const act = async (what) => {
    const ids = [...selected];
    if (what !== 'run' && !ids.length) return notice('Select messages first.', true);
    const label = what === 'run' ? (ids.length ? 'Run delivery of ' + ids.length + ' message(s) now?' : 'Run delivery of every due message now?')
      : what[0].toUpperCase() + what.slice(1) + ' ' + ids.length + ' message(s)?';
    if (!(await confirmAction(label))) return;
    const q = query({ queue: formValues(form).queue });
    const r = await api('POST', '/api/queue/' + what + q, { ids });
    if (what === 'run') notice('Delivery run: ' + r.summary);
    else reportResults(what, r);
    selected.clear();
    await load();
  };
  const bar = el('div', { className: 'toolbar' },
    ...['hold', 'release', 'delete'].map((w) => el('button', { type: 'button', id: 'qu-' + w, on: { click: () => act(w).catch(fail) } }, w[0].toUpperCase() + w.slice(1) + ' selected')),
    el('button', { type: 'button', id: 'qu-run', className: 'primary', on: { click: () => act('run').catch(fail) } }, 'Run delivery'),
    el('span', { id: 'qu-count', className: 'muted' }));
  const out = el('div', { id: 'qu-list' });
  root.append(el('h1', {}, 'Queue'), form, bar, out);
  async function load() {
    const r = await api('GET', '/api/queue' + query(formValues(form)));
    $('qu-count').textContent = r.count + ' message(s)' + (r.unreadable.length ? ', ' + r.unreadable.length + ' unreadable' : '');
    const rows = r.messages.map((m) => el('tr', {},
      el('td', {}, el('input', { type: 'checkbox', checked: selected.has(m.id), on: { change: (ev) => { if (ev.target.checked) selected.add(m.id); else selected.delete(m.id); } } })),
      el('td', { className: 'mono' }, m.id), el('td', {}, m.created), el('td', { className: 'num' }, size(m.size)),
      el('td', {}, m.quarantined ? 'quarantine' : m.mode), el('td', {}, m.sender || '<>'),
      el('td', {}, m.recipients.map((x) => x.address + ' ' + x.status + (x.reply ? ' (' + x.reply + ')' : '')).join('; ')),
      el('td', { className: 'num' }, m.attempts)));
    for (const u of r.unreadable) rows.push(el('tr', {}, el('td', {}), el('td', { className: 'mono' }, u.id), el('td', { colSpan: 6, className: 'error' }, 'unreadable: ' + u.error)));
    out.replaceChildren(table(['', 'Queue id', 'Created', el('th', { className: 'num' }, 'Size'), 'Mode', 'Sender', 'Recipients', el('th', { className: 'num' }, 'Attempts')],
      rows.length ? rows : [emptyRow(8, 'The queue is empty.')]));
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load().catch(fail); });
  await load();
};

// Release requests (issue 11): an admin sees every request and approves or denies the
// pending ones; a helpdesk user sees the state of its own.
views.requests = async (root) => {
  const form = el('form', { id: 'r-filter', className: 'card filters' },
    el('label', {}, 'State', el('select', { name: 'state', id: 'r-state' }, ['pending', 'approved', 'denied', 'cancelled', 'all'].map((v) => el('option', { value: v }, v)))),
    el('button', { type: 'submit', className: 'primary' }, 'Show'));
  const out = el('div', { id: 'r-list' });
  const isAdmin = state.me.role === 'admin';
  root.append(el('h1', {}, 'Release requests'),
    el('p', { className: 'muted' }, isAdmin
      ? 'Requests of helpdesk users (releases in approval domains) and of recipients (the digest\'s link). Approving releases the message once.'
      : 'Your release requests; an admin approves or denies them.'),
    form, out);

  async function decide(r, approve) {
    let body = {};
    if (approve) {
      if (!(await confirmAction('Approve request ' + r.id + ': release message ' + r.queue_id + ' for delivery?'))) return;
    } else {
      const d = el('dialog', { id: 'deny-dialog' });
      const f = el('form', { method: 'dialog' },
        el('p', {}, 'Deny request ' + r.id + ' (message ' + r.queue_id + ' stays held)?'),
        el('label', {}, 'Note (why)', el('input', { name: 'note', id: 'deny-note', size: 40, maxLength: 500 })),
        el('menu', {}, el('button', { value: 'cancel', id: 'deny-cancel' }, 'Cancel'),
          el('button', { value: 'ok', id: 'deny-ok', className: 'danger' }, 'Deny')));
      d.append(f);
      document.body.append(d);
      const ok = await new Promise((resolve) => {
        d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
        d.showModal();
      });
      body = { note: String(new FormData(f).get('note') || '') };
      d.remove();
      if (!ok) return;
    }
    try {
      const res = await api('POST', '/api/requests/' + r.id + (approve ? '/approve' : '/deny'), body);
      const rel = res.release;
      notice('Request ' + r.id + ' ' + res.request.state + (rel && rel.pending_host ? ' (release pending on host ' + rel.pending_host + ')' : ''));
    } catch (e) {
      notice('Request ' + r.id + ': ' + (e.data && e.data.error ? e.data.error : e.message), true);
    }
    await load();
    updateRequestBadge();
  }

  async function load() {
    const f = formValues(form);
    const r = await api('GET', '/api/requests' + query({ state: f.state }));
    const rows = r.requests.map((q) => {
      const m = q.message;
      const pending = q.state === 'pending';
      return el('tr', { data: { id: String(q.id) } },
        el('td', { className: 'num' }, String(q.id)),
        el('td', { className: 'nowrap' }, utc(q.requested_at)),
        el('td', {}, q.requested_by),
        el('td', { className: 'mono' }, /^[A-Za-z0-9]+$/.test(q.queue_id) ? el('a', { href: '#quarantine/' + q.queue_id }, q.queue_id) : q.queue_id),
        el('td', {}, m ? (m.sender || '<>') : ''),
        el('td', {}, m ? m.recipients.join(', ') : ''),
        el('td', {}, m ? m.subject : '(not in the index)'),
        el('td', {}, q.comment),
        el('td', {}, badge(q.state), m && m.status !== 'held' ? el('span', { className: 'muted' }, ' message ' + m.status) : null),
        el('td', {}, q.decided_by ? q.decided_by + ' ' + utc(q.decided_at) : '', q.note ? el('div', { className: 'muted' }, q.note) : null),
        el('td', { className: 'nowrap' }, isAdmin && pending ? [
          el('button', { type: 'button', className: 'primary r-approve', on: { click: () => decide(q, true).catch(fail) } }, 'Approve'),
          el('button', { type: 'button', className: 'r-deny', on: { click: () => decide(q, false).catch(fail) } }, 'Deny...')] : null));
    });
    out.replaceChildren(el('p', { className: 'muted', id: 'r-count' }, r.count + ' request(s), newest first.'),
      table(['#', 'Requested (UTC)', 'By', 'Queue id', 'Sender', 'Recipients', 'Subject', 'Comment', 'State', 'Decided', ''],
        rows.length ? rows : [emptyRow(11, 'No request in this state.')]));
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load().catch(fail); });
  await load();
};

// The pending-request count beside "Requests" (admins).
function updateRequestBadge() {
  const b = $('req-badge');
  if (!state.me || state.me.role !== 'admin') { b.classList.add('hidden'); return; }
  api('GET', '/api/requests?state=pending').then((r) => {
    b.textContent = String(r.count);
    b.classList.toggle('hidden', r.count === 0);
  }).catch(() => b.classList.add('hidden'));
}

// ---------- routing and sign-in ----------
function allowed(view) {
  return state.me && (state.me.role === 'admin' || view === 'quarantine' || view === 'requests');
}

async function route() {
  if (!state.me) return;
  // #view or #view/ARG (#quarantine/ID opens that message).
  let [view, arg] = location.hash.replace(/^#/, '').split('/');
  if (!Object.hasOwn(views, view) || !allowed(view)) { view = state.me.role === 'admin' ? 'dashboard' : 'quarantine'; arg = ''; }
  state.view = view;
  delete document.body.dataset.ready;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === view);
  notice('');
  const root = el('div', { id: 'view-' + view });
  $('view').replaceChildren(root);
  document.title = 'mxguard console: ' + view;
  try {
    await views[view](root, arg ? decodeURIComponent(arg) : '');
    document.body.dataset.ready = view;  // the browser tests wait for this
  } catch (e) {
    fail(e);
    document.body.dataset.ready = view;
  }
}

function signedIn(me) {
  state.me = me;
  state.csrf = me.csrf;
  $('who').textContent = me.user + ' (' + me.role + (me.domains && me.domains.length ? ': ' + me.domains.join(', ') : '') + ')';
  $('login-view').classList.add('hidden');
  $('nav').classList.remove('hidden');
  $('who-box').classList.remove('hidden');
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('hidden', a.dataset.admin === '1' && me.role !== 'admin');
  updateRequestBadge();
  route();
}

function showLogin(msg) {
  state.me = null;
  state.csrf = '';
  $('view').replaceChildren();
  $('nav').classList.add('hidden');
  $('who-box').classList.add('hidden');
  $('login-view').classList.remove('hidden');
  $('login-error').textContent = msg || '';
  document.body.dataset.ready = 'login';
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = new FormData($('login'));
  $('login-error').textContent = '';
  api('POST', '/api/login', { user: f.get('user'), password: f.get('password') })
    .then((me) => { $('login').reset(); signedIn(me); })
    .catch((e) => { $('login-error').textContent = e.message; document.body.dataset.ready = 'login-error'; });
});
$('logout').addEventListener('click', () => {
  api('POST', '/api/logout').catch(() => {}).finally(() => { location.hash = ''; showLogin('Signed out.'); });
});
window.addEventListener('hashchange', () => route());
api('GET', '/api/me').then(signedIn).catch(() => showLogin(''));
