// console.mjs: the console's pages in Debian's chromium (headless), driven by
// playwright-core. Run by console_browser.py, which starts the gateway, sends the mail
// and passes: CONSOLE_URL, ARTIFACTS (screenshot folder), CHROMIUM, ADMIN_PASS,
// DESK_PASS, QID_SOFT, QID_XSS, QID_OTHER, QID_BULK1, QID_BULK2.
// Prints "ok - ..." / "not ok - ..." lines; exits 1 when one failed.
// Waits are on page state (body[data-ready], elements, responses), never on a sleep.
import { chromium } from 'playwright-core';
import path from 'node:path';

const env = process.env;
const URL0 = env.CONSOLE_URL;
const ORIGIN = new URL(URL0).origin;
const Q = { soft: env.QID_SOFT, xss: env.QID_XSS, other: env.QID_OTHER, bulk1: env.QID_BULK1, bulk2: env.QID_BULK2 };
const T = 15000;  // any single wait

let failed = 0;
function check(cond, what) {
  console.log((cond ? 'ok - ' : 'not ok - ') + what);
  if (!cond) failed++;
  return cond;
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions'],
  timeout: 60000,
});

// Everything the pages ask for, every dialog and console line: the security checks read
// these. Requests to anywhere but the console are recorded, then refused.
const requests = [];
const foreign = [];
const dialogs = [];
const consoleLines = [];
const pageErrors = [];

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(T);
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (new URL(u).origin !== ORIGIN) { foreign.push(u); return route.abort(); }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('console', (m) => consoleLines.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // CSP violations would mean that something in the page tried to run or load: count them.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(env.ARTIFACTS, name + '.png'), fullPage: true });
}
const ready = (page, view) => page.waitForSelector(`body[data-ready="${view}"]`);

async function signIn(page, user, pass, expect) {
  await page.fill('#login input[name=user]', user);
  await page.fill('#login input[name=password]', pass);
  await page.click('#login button[type=submit]');
  await ready(page, expect);
}

// Re-runs the quarantine filter (with the form as it is) until the row of `id` is listed
// (or not), or the wait ends. The index is written by the history writer a moment after
// the SMTP answer, so the first look may come early. Each round waits for the page to
// draw the new list (#q-list's data-gen changes), then looks.
async function reloadList(page) {
  const gen = await page.getAttribute('#q-list', 'data-gen');
  await page.click('#q-filter button[type=submit]');
  await page.waitForFunction((g) => document.getElementById('q-list').dataset.gen !== g, gen);
}
async function waitRow(page, id, present = true) {
  const deadline = Date.now() + T;
  for (;;) {
    await reloadList(page);
    const n = await page.locator(`#q-list tr[data-id="${id}"]`).count();
    if ((n > 0) === present) return true;
    if (Date.now() > deadline) return false;
    await page.waitForTimeout(100);  // poll interval while the index catches up
  }
}

async function confirmOk(page) {
  await page.waitForSelector('#confirm[open]');
  const text = await page.textContent('#confirm-text');
  await page.click('#confirm-ok');
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
  return text;
}

try {
  const { page } = await newPage();
  await page.goto(URL0);
  await ready(page, 'login');
  await shot(page, 'signin');

  // --- a wrong password is refused ---
  await signIn(page, 'admin', 'not the password', 'login-error');
  const err = await page.textContent('#login-error');
  check(/wrong user or password/.test(err), `wrong password refused on the page (${err})`);
  check(await page.locator('#nav').isHidden(), 'wrong password: still signed out');

  // --- sign in as admin: the dashboard ---
  await signIn(page, 'admin', env.ADMIN_PASS, 'dashboard');
  check((await page.textContent('#who')).startsWith('admin (admin'), 'admin signed in');
  const cookies = await page.context().cookies();
  const sc = cookies.find((k) => k.name === 'mxg_session');
  check(sc && sc.httpOnly && sc.sameSite === 'Strict', 'session cookie HttpOnly, SameSite=Strict');
  check(await page.evaluate(() => !document.cookie.includes('mxg_session')), 'the script cannot read the session cookie');
  check(await page.locator('#view-dashboard svg').count() === 3, 'dashboard draws three charts');
  const held = Number(await page.textContent('#tile-quarantine .n'));
  check(held >= 1, `dashboard: quarantine size shown (${held})`);
  check((await page.textContent('#status')).includes('SMTP sessions'), 'dashboard: the gateway status card');
  await page.click('text=7 days');
  await ready(page, 'dashboard');
  check((await page.textContent('#tile-inbound .l')).includes('7 days'), 'dashboard: 7-day range');
  await shot(page, 'dashboard-7d');
  await page.click('text=24 hours');
  await ready(page, 'dashboard');
  await shot(page, 'dashboard');

  // --- quarantine: the softfail message appears ---
  await page.click('#nav a[data-view=quarantine]');
  await ready(page, 'quarantine');
  check(await waitRow(page, Q.soft), `quarantine page lists the softfail message ${Q.soft}`);
  check(await waitRow(page, Q.xss), 'quarantine page lists the hostile message');
  const softRow = page.locator(`#q-list tr[data-id="${Q.soft}"]`);
  check((await softRow.textContent()).includes('browser softfail'), 'the row shows its subject');
  check((await softRow.textContent()).includes('softfail'), 'the row shows the SPF result');
  // Filters: domain and result.
  await page.fill('#q-filter input[name=domain]', 'bulk.test');
  check(await waitRow(page, Q.bulk1) && await waitRow(page, Q.soft, false), 'domain filter: bulk.test only');
  await page.fill('#q-filter input[name=domain]', '');
  await page.selectOption('#q-filter select[name=result]', 'fail');
  check(await waitRow(page, Q.soft, false), 'result filter fail excludes the softfail message');
  await page.selectOption('#q-filter select[name=result]', 'softfail');
  await page.fill('#q-filter input[name=recipient]', 'u1@');
  check(await waitRow(page, Q.soft) && await waitRow(page, Q.xss, false), 'recipient filter u1@ finds only the softfail message');
  await page.fill('#q-filter input[name=recipient]', '');
  await page.selectOption('#q-filter select[name=result]', '');
  // Dates (UTC days): from yesterday lists it; up to the day before yesterday does not
  // (days chosen so that a run at midnight gives the same answers).
  const day = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
  await page.fill('#q-filter input[name=from]', day(1));
  check(await waitRow(page, Q.soft), 'date filter from yesterday lists the message');
  await page.fill('#q-filter input[name=to]', day(2));
  check(await waitRow(page, Q.soft, false), 'date filter up to the day before yesterday excludes it');
  await page.fill('#q-filter input[name=from]', '');
  await page.fill('#q-filter input[name=to]', '');
  await waitRow(page, Q.xss);
  await shot(page, 'quarantine');

  // --- the hostile message: shown as text, runs nothing, loads nothing ---
  const before = requests.length;
  await page.click(`#q-list tr[data-id="${Q.xss}"] td:nth-child(3)`);
  await page.waitForSelector('#q-body');
  const body = await page.textContent('#q-body');
  check(body.includes("<script>alert('xss-script')") && body.includes('<img src="http://192.0.2.1/pixel.png"'),
    'the body is shown as text, markup and all');
  check(body.includes('href="javascript:alert'), 'the javascript: link is text');
  const subj = await page.textContent(`#q-list tr[data-id="${Q.xss}"]`);
  check(subj.includes("<img src=x onerror=alert('subj')>"), 'a subject with markup is shown as text');
  const dom = await page.evaluate(() => ({
    scripts: [...document.scripts].map((s) => s.src),
    imgs: document.images.length,
    iframes: document.querySelectorAll('iframe, object, embed, link[href^="http://192"]').length,
    links: [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    handlers: document.querySelectorAll('[onerror], [onclick], [onload]').length,
    csp: window.__csp,
  }));
  check(dom.scripts.length === 1 && dom.scripts[0] === ORIGIN + '/app.js', `only app.js is a script (${dom.scripts})`);
  check(dom.imgs === 0 && dom.iframes === 0 && dom.handlers === 0, 'no img, iframe or event handler made from the message');
  check(dom.links.every((h) => h && h.startsWith('#')), `no link but the console's own (${dom.links})`);
  // Let anything that would load have its chance: a round trip to the server after it.
  await page.evaluate(() => fetch('/api/me').then((r) => r.status));
  check(dom.csp.length === 0 && (await page.evaluate(() => window.__csp.length)) === 0,
    'no Content-Security-Policy violation (nothing tried to run or load)');
  await page.click('#q-headers');  // clicking into the text follows nothing
  check(page.url().startsWith(URL0), 'still on the console after clicking the message text');
  await shot(page, 'quarantine-message');
  check(requests.slice(before).every((u) => new URL(u).origin === ORIGIN), 'showing the message asked only the console');

  // A cancelled confirmation changes nothing.
  await page.click('#q-delete');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
  check(await waitRow(page, Q.xss), 'delete cancelled: the message is still listed');

  // --- CSRF: a POST from the page without the token, or with a wrong one, is refused ---
  const csrf = await page.evaluate(async (id) => {
    const post = (headers) => fetch('/api/quarantine/release', {
      method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, headers),
      body: JSON.stringify({ ids: [id] }) }).then((r) => r.status);
    const none = await post({});
    const wrong = await post({ 'X-CSRF-Token': 'x'.repeat(64) });
    const show = await fetch('/api/quarantine/' + id).then((r) => r.json());
    return { none, wrong, status: show.entry.status };
  }, Q.soft);
  check(csrf.none === 403, `POST without the CSRF token refused (${csrf.none})`);
  check(csrf.wrong === 403, `POST with a wrong CSRF token refused (${csrf.wrong})`);
  check(csrf.status === 'held', 'the message is still held after the refused POSTs');

  // --- release the softfail message in the page (opened from the keyboard) ---
  await page.focus(`#q-list tr[data-id="${Q.soft}"]`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => document.getElementById('q-show-id')?.textContent === id, Q.soft);
  // "Release and allow...": the scope dialog offers this sender and the client's /24;
  // cancelled, it changes nothing (tests/integration/console_allow.py covers the rest).
  await page.click('#q-release-allow');
  await page.waitForSelector('#allow-dialog[open]');
  check(await page.inputValue('#allow-net') === '127.0.0.0/24', 'release-and-allow offers the client\'s /24');
  check(await page.isChecked('#allow-scope-sender'), '  the sender scope is the default');
  await page.click('#allow-cancel');
  await page.waitForSelector('#allow-dialog', { state: 'detached' });
  check(await page.evaluate(async (id) => (await (await fetch('/api/exceptions')).json()).count === 0 &&
    (await (await fetch('/api/quarantine/' + id)).json()).entry.status === 'held', Q.soft),
    'release-and-allow cancelled: still held, no exception');
  const releaseResp = page.waitForResponse((r) => r.url().endsWith('/api/quarantine/release') && r.request().method() === 'POST');
  await page.click('#q-release');
  const ctext = await confirmOk(page);
  check(ctext.includes(Q.soft), 'release asks for confirmation naming the message');
  const rr = await releaseResp;
  check(rr.status() === 200, `release in the page answered 200 (${rr.status()})`);
  check(rr.request().headers()['x-csrf-token']?.length === 64, 'the page sent its CSRF token');
  await page.waitForFunction(() => /Release: 1 done/.test(document.getElementById('notice').textContent));
  check(await waitRow(page, Q.soft, false), 'the released message leaves the held list');
  await shot(page, 'quarantine-released');
  console.log('released ' + Q.soft);

  // --- release all from a domain, with confirmation ---
  await page.click(`#q-list tr[data-id="${Q.bulk1}"] td:nth-child(3)`);
  await page.waitForFunction((id) => document.getElementById('q-show-id')?.textContent === id, Q.bulk1);
  await page.click('#q-release-domain');
  const dtext = await confirmOk(page);
  check(dtext.includes('bulk.test'), 'release-all asks for confirmation naming the domain');
  await page.waitForFunction(() => /Release all from bulk.test: 2 done/.test(document.getElementById('notice').textContent));
  check(await waitRow(page, Q.bulk1, false) && await waitRow(page, Q.bulk2, false), 'both bulk.test messages released');
  // The released ones are still listed with "released and deleted too".
  await page.check('#q-filter input[name=all]');
  check(await waitRow(page, Q.soft), 'the released message is listed with "released and deleted too"');
  check((await page.textContent(`#q-list tr[data-id="${Q.soft}"]`)).includes('released'), '  marked released');
  await page.uncheck('#q-filter input[name=all]');

  // --- history ---
  await page.click('#nav a[data-view=history]');
  await ready(page, 'history');
  await page.fill('#h-filter input[name=queue_id]', Q.soft);
  const hresp = page.waitForResponse((r) => r.url().includes('/api/history?'));
  await page.click('#h-filter button[type=submit]');
  await hresp;
  await page.waitForFunction(() => document.querySelector('#h-list p')?.textContent.startsWith('1 record'));
  const hrow = await page.textContent('#h-list tbody tr');
  check(hrow.includes(Q.soft) && hrow.includes('quarantine') && hrow.includes('SPF softfail'), 'history search by queue id finds the quarantine decision');
  await page.click('#h-list tbody tr');
  check(await page.locator('#h-list tbody tr:nth-child(2)').isVisible(), 'a history row opens its decisions');
  await page.fill('#h-filter input[name=queue_id]', '');
  await page.click('#h-filter button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('#h-list p')?.textContent.startsWith('1 record'));
  await shot(page, 'history');
  // A quarantined record links to its message in the quarantine (#quarantine/ID).
  await page.click(`#h-list a[href="#quarantine/${Q.soft}"]`);
  await ready(page, 'quarantine');
  await page.waitForFunction((id) => document.getElementById('q-show-id')?.textContent === id, Q.soft);
  check((await page.textContent('#q-show')).includes('released by console:admin'), 'history links to the message in the quarantine (released by console:admin)');

  // --- policy simulation ---
  await page.click('#nav a[data-view=policy]');
  await ready(page, 'policy');
  const outcomes = await page.textContent('#p-outcomes tbody');
  check(/spf\s*5\s*2\s*3\s*0\s*100%/.test(outcomes), `policy: quarantine outcomes by rule (${outcomes})`);
  const rulesText = await page.textContent('#p-rules tbody');
  check(rulesText.includes('softfail quarantine') && rulesText.includes('fail reject'), `policy: the rules in force list the running [spf] actions (${rulesText})`);
  await page.fill('#p-form textarea', '[spf]\nenabled = true\n[spf.actions]\nsoftfail = "reject"\n');
  await page.selectOption('#p-form select[name=since]', '1d');
  await page.click('#p-form button[type=submit]');
  await page.waitForSelector('#p-would-reject');
  check(Number(await page.textContent('#p-would-reject .n')) >= 5, 'policy simulate: the softfails would be rejected');
  check((await page.textContent('#p-result')).includes('quarantine->reject'), 'policy simulate: the transition is listed');
  await shot(page, 'policy');
  await page.fill('#p-form textarea', '[spf]\nbogus = 1\n');
  await page.click('#p-form button[type=submit]');
  await page.waitForSelector('#p-error');
  check((await page.textContent('#p-error')).includes('candidate:2:'), 'policy simulate: a bad candidate shows its line');

  // --- a reloaded page keeps its session and gets its CSRF token from /api/me ---
  await page.reload();
  await ready(page, 'policy');
  check((await page.textContent('#who')).startsWith('admin'), 'after a reload the page is still signed in');

  // --- SPF linter ---
  await page.click('#nav a[data-view=lint]');
  await ready(page, 'lint');
  await page.fill('#l-form input[name=record]', 'v=spf1 ip4:192.0.2.0/24 +all');
  await page.click('#l-form button[type=submit]');
  await page.waitForSelector('#l-report');
  check((await page.textContent('#l-report')).includes('+all'), 'SPF linter: the checklist names +all');
  check((await page.textContent('#l-report .lint-error')).startsWith('[ERROR]'), 'SPF linter: an error line is marked');
  await shot(page, 'lint');

  // --- backscatter sources (none in this run: the page says so) ---
  await page.click('#nav a[data-view=backscatter]');
  await ready(page, 'backscatter');
  await page.waitForSelector('#b-result table');
  check((await page.textContent('#b-result')).includes('No backscatter sources in this range.'), 'backscatter page: an empty range says so');
  await shot(page, 'backscatter');

  // --- queue: list, hold and release one, a delivery run ---
  await page.click('#nav a[data-view=queue]');
  await ready(page, 'queue');
  const qrow = page.locator('#qu-list tr', { hasText: Q.xss });
  check(await qrow.count() === 1, 'queue page lists the held message');
  check((await qrow.textContent()).includes('quarantine'), '  as quarantined');
  await qrow.locator('input[type=checkbox]').check();
  await page.click('#qu-hold');
  check((await confirmOk(page)).includes('Hold 1 message'), 'queue hold asks for confirmation (token from /api/me after the reload)');
  await page.waitForFunction(() => /hold: 1 done/.test(document.getElementById('notice').textContent));
  check(true, 'queue page holds a selected message');
  await page.click('#qu-run');
  await confirmOk(page);
  await page.waitForFunction(() => /Delivery run:/.test(document.getElementById('notice').textContent));
  check(true, 'queue page runs a delivery');
  await shot(page, 'queue');

  // --- sign out ---
  await page.click('#logout');
  await ready(page, 'login');
  check(await page.evaluate(() => fetch('/api/me').then((r) => r.status)) === 401, 'signed out: the session is gone');

  // --- helpdesk of other.test: its own domain only ---
  const { page: desk } = await newPage();
  await desk.goto(URL0);
  await ready(desk, 'login');
  await signIn(desk, 'desk', env.DESK_PASS, 'quarantine');
  check(await waitRow(desk, Q.other), 'helpdesk of other.test sees its message');
  check(await desk.locator(`#q-list tr[data-id="${Q.xss}"]`).count() === 0, 'helpdesk of other.test does not see local.test\'s message');
  const visibleNav = await desk.$$eval('#nav a', (as) => as.filter((a) => !a.classList.contains('hidden')).map((a) => a.dataset.view));
  check(visibleNav.join() === 'quarantine,requests', `helpdesk sees only the quarantine and its requests (${visibleNav})`);
  await desk.evaluate(() => { location.hash = '#dashboard'; });
  await ready(desk, 'quarantine');
  check(true, 'helpdesk: #dashboard falls back to the quarantine');
  const hd = await desk.evaluate(async (id) => ({
    show: (await fetch('/api/quarantine/' + id)).status,
    dash: (await fetch('/api/dashboard')).status,
  }), Q.xss);
  check(hd.show === 404 && hd.dash === 403, `helpdesk: another domain's message 404, dashboard 403 (${JSON.stringify(hd)})`);
  await desk.click(`#q-list tr[data-id="${Q.other}"] td:nth-child(3)`);
  await desk.waitForSelector('#q-body');
  await shot(desk, 'helpdesk');

  // --- release requests (issue 11): other.test is an approval domain ---
  await desk.click('#q-release');
  check((await confirmOk(desk)).includes('Release message'), 'helpdesk release asks for confirmation');
  await desk.waitForFunction(() => /filed as request \d+/.test(document.getElementById('notice').textContent));
  const filed = await desk.textContent('#notice');
  check(/need an admin's approval/.test(filed), `helpdesk release in an approval domain is filed as a request (${filed})`);
  await desk.evaluate(() => { location.hash = '#requests'; });
  await ready(desk, 'requests');
  const deskRow = desk.locator('#r-list tbody tr', { hasText: Q.other });
  check(await deskRow.count() === 1 && (await deskRow.textContent()).includes('pending'), 'helpdesk sees its request pending');
  check(await desk.locator('#r-list .r-approve').count() === 0, 'helpdesk has no approve button');

  const { page: adm } = await newPage();
  await adm.goto(URL0);
  await ready(adm, 'login');
  await signIn(adm, 'admin', env.ADMIN_PASS, 'dashboard');
  await adm.waitForFunction(() => document.getElementById('req-badge').textContent === '1');
  check(await adm.locator('#req-badge').isVisible(), 'admin: the nav shows 1 pending request');
  await adm.evaluate(() => { location.hash = '#requests'; });
  await ready(adm, 'requests');
  const row = adm.locator('#r-list tbody tr', { hasText: Q.other });
  check((await row.textContent()).includes('for other.test'), 'admin: the request shows its message\'s subject');
  await shot(adm, 'requests');
  await row.locator('.r-approve').click();
  check((await confirmOk(adm)).includes('Approve request'), 'approve asks for confirmation');
  await adm.waitForFunction(() => /Request \d+ approved/.test(document.getElementById('notice').textContent));
  check(true, 'admin approves the request in the page');
  await adm.waitForFunction(() => document.getElementById('req-badge').classList.contains('hidden'));
  check(true, 'admin: the badge is gone with no pending request');

  // --- across the whole run ---
  check(foreign.length === 0, `no request left for anything but ${ORIGIN} (${foreign.join(' ')})`);
  check(requests.every((u) => new URL(u).origin === ORIGIN), 'the request log holds the console origin only');
  check(dialogs.length === 0, `no dialog opened (${dialogs.join(' | ')})`);
  check(!consoleLines.some((l) => l.includes('xss')), `no console side effect (${consoleLines.filter((l) => l.includes('xss'))})`);
  check(pageErrors.length === 0, `no script error in the page (${pageErrors.join(' | ')})`);
} catch (e) {
  check(false, 'browser run: ' + (e && e.stack ? e.stack : e));
  for (const ctx of browser.contexts())
    for (const [i, p] of ctx.pages().entries()) {
      await p.screenshot({ path: path.join(env.ARTIFACTS, `failure-${i}.png`), fullPage: true }).catch(() => {});
      console.log('notice: ' + (await p.textContent('#notice').catch(() => '?')));
    }
  console.log('console: ' + consoleLines.join('\n  '));
  console.log('page errors: ' + pageErrors.join('\n  '));
} finally {
  await browser.close();
}
console.log(`requests: ${requests.length}, foreign: ${foreign.length}, dialogs: ${dialogs.length}`);
process.exit(failed ? 1 : 0);
