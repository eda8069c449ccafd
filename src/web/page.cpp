// page.cpp: see page.hpp.
#include "web/page.hpp"

namespace mxg::web {

std::string_view index_html() {
  return R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mxguard console</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #ccc; padding: .3em; text-align: left; font-size: 90%; }
pre { background: #f4f4f4; padding: .5em; white-space: pre-wrap; word-break: break-all; }
.hidden { display: none; }
#error { color: #a00; }
</style>
</head>
<body>
<h1>mxguard console</h1>
<p id="error"></p>
<form id="login" class="hidden">
  <label>User <input name="user" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
<div id="main" class="hidden">
  <p>Signed in as <b id="who"></b> <button id="logout">Sign out</button></p>
  <h2>Quarantine</h2>
  <form id="filter">
    <label>Sender domain <input name="domain"></label>
    <label>Recipient <input name="recipient"></label>
    <button type="submit">Filter</button>
  </form>
  <table>
    <thead><tr><th>Time</th><th>Sender</th><th>Recipients</th><th>Subject</th><th>Why</th><th></th></tr></thead>
    <tbody id="rows"></tbody>
  </table>
  <div id="show" class="hidden">
    <h3>Message <span id="show-id"></span></h3>
    <pre id="show-headers"></pre>
    <pre id="show-body"></pre>
  </div>
</div>
<script src="/app.js"></script>
</body>
</html>
)html";
}

std::string_view app_js() {
  return R"js('use strict';
let csrf = '';
const $ = (id) => document.getElementById(id);
function say(msg) { $('error').textContent = msg || ''; }
async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const res = await fetch(path, opt);
  const data = await res.json().catch(() => ({}));
  if (!res.ok && !data.results) throw new Error(data.error || res.statusText);
  return data;
}
function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text;
  tr.appendChild(td);
  return td;
}
function button(td, label, fn) {
  const b = document.createElement('button');
  b.textContent = label;
  b.addEventListener('click', fn);
  td.appendChild(b);
}
async function show(id) {
  const m = await api('GET', '/api/quarantine/' + encodeURIComponent(id));
  $('show-id').textContent = id;
  $('show-headers').textContent = m.headers || '';
  $('show-body').textContent = (m.body_text || '') + (m.body_truncated ? '\n[truncated]' : '');
  $('show').classList.remove('hidden');
}
async function act(what, id) {
  if (!confirm(what + ' ' + id + '?')) return;
  const r = await api('POST', '/api/quarantine/' + what, { ids: [id] });
  const bad = (r.results || []).filter((x) => !x.ok);
  say(bad.length ? bad.map((x) => x.error).join('; ') : '');
  await load();
}
async function load() {
  const f = new FormData($('filter'));
  const q = new URLSearchParams();
  for (const [k, v] of f.entries()) if (v) q.set(k, v);
  const data = await api('GET', '/api/quarantine?' + q.toString());
  const rows = $('rows');
  rows.replaceChildren();
  for (const m of data.messages) {
    const tr = document.createElement('tr');
    cell(tr, m.time_text);
    cell(tr, m.sender);
    cell(tr, m.recipients.join(', '));
    cell(tr, m.subject);
    cell(tr, m.check + (m.rule ? ' (' + m.rule + ')' : '') + ': ' + m.reason);
    const td = cell(tr, '');
    button(td, 'Show', () => show(m.id).catch((e) => say(e.message)));
    button(td, 'Release', () => act('release', m.id).catch((e) => say(e.message)));
    button(td, 'Delete', () => act('delete', m.id).catch((e) => say(e.message)));
    rows.appendChild(tr);
  }
}
function signedIn(me) {
  csrf = me.csrf;
  $('who').textContent = me.user + ' (' + me.role + ')';
  $('login').classList.add('hidden');
  $('main').classList.remove('hidden');
  load().catch((e) => say(e.message));
}
$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = new FormData($('login'));
  api('POST', '/api/login', { user: f.get('user'), password: f.get('password') })
    .then((me) => { say(''); signedIn(me); })
    .catch((e) => say(e.message));
});
$('logout').addEventListener('click', () => {
  api('POST', '/api/logout').finally(() => location.reload());
});
$('filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load().catch((e) => say(e.message));
});
api('GET', '/api/me').then(signedIn).catch(() => $('login').classList.remove('hidden'));
)js";
}

}  // namespace mxg::web
