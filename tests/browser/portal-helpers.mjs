// Helpers of the merchant portal's browser tests: a portal page in its own browser context,
// sign-in, axe-core checks, screenshots at phone and desktop size, a local webhook receiver
// and the `kassa admin user create` CLI for a viewer. scripts/browser-test passes the demo
// portal login (KASSA_PORTAL_EMAIL/PASSWORD), the binary (KASSA_BIN) and the database URL.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BASE, SCREENSHOTS, PHONE } from './helpers.mjs';

const require = createRequire(import.meta.url);

export const DESKTOP = { width: 1280, height: 800 };
export { PHONE };
export const SIZES = [['phone', PHONE], ['desktop', DESKTOP]];

export const PORTAL_EMAIL = process.env.KASSA_PORTAL_EMAIL || '';
export const PORTAL_PASSWORD = process.env.KASSA_PORTAL_PASSWORD || '';
/** Why the portal tests cannot run, or null. */
export const PORTAL_MISSING = PORTAL_EMAIL && PORTAL_PASSWORD ? null
  : 'no demo portal login (KASSA_PORTAL_EMAIL/KASSA_PORTAL_PASSWORD): run the tests with scripts/browser-test';

// Answers the browser logs as console errors although the page expects them: the sign-in
// probe (401 before signing in), a wrong password (401), a viewer's refused change (403).
const EXPECTED = /Failed to load resource: the server responded with a status of (401|403)/;

/** A fresh browser context (no cookie) with the portal open. */
export async function openPortal(browser, { viewport = DESKTOP, locale = 'en-US' } = {}) {
  // bypassCSP: the portal's CSP forbids inline scripts, and axe-core is injected as one.
  const context = await browser.newContext({ viewport, locale, deviceScaleFactor: 1, colorScheme: 'light', bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !EXPECTED.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  await page.goto(`${BASE}/portal`);
  return {
    page, context, problems,
    byId: (id) => page.getByTestId(id),
    close: () => context.close(),
  };
}

export async function signIn(portal, email = PORTAL_EMAIL, password = PORTAL_PASSWORD) {
  const { byId } = portal;
  await byId('login-email').fill(email);
  await byId('login-password').fill(password);
  await byId('login-submit').click();
  await byId('page-sessions').waitFor();
  assert.equal((await byId('user-email').textContent()).trim(), email);
}

/** Go to a portal page by its address fragment and wait until it has drawn its data. */
export async function goto(portal, hash, testid) {
  const { page } = portal;
  await page.evaluate((h) => { location.hash = h; }, hash);
  await portal.byId(testid).waitFor();
  await settled(page);
}

/** No loading indicator left in the page (every first read answered). */
export async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('#main .loading, dialog .loading'), null, { timeout: 10000 });
}

/** axe-core over the whole document: no serious or critical violation. */
export async function checkA11y(page, what) {
  if (!(await page.evaluate(() => !!window.axe))) {
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  }
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `axe on ${what}`);
}

/** test-artifacts/screenshots/portal-<name>-<size>.png, the whole page. */
export async function shoot(page, name, size) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `portal-${name}-${size}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** A webhook receiver on 127.0.0.1 that answers 200 and keeps every request. */
export async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      let json = null;
      try { json = JSON.parse(body); } catch { /* kept as text */ }
      received.push({ headers: req.headers, body: json, at: Date.now() });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    received,
    close: () => new Promise((r) => server.close(r)),
  };
}

/**
 * `kassa admin user create … --role viewer` with the password on stdin. Resolves to null
 * when the binary or the database URL is not known (a hand run of the tests).
 */
export function createPortalUser(email, password, role = 'viewer') {
  const bin = process.env.KASSA_BIN;
  const db = process.env.KASSA_DATABASE_URL;
  const merchantId = process.env.KASSA_MERCHANT_ID;
  if (!bin || !db || !merchantId) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['admin', 'user', 'create', '--merchant', merchantId, '--email', email, '--role', role], {
      env: { ...process.env, KASSA_DATABASE_URL: db, KASSA_LOG: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(`${password}\n`);
  });
}
