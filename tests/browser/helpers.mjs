// Shared pieces of the browser tests: the merchant side (plain fetch calls, what a
// merchant's backend would send with curl), a headless Chromium, and POS page helpers.
// scripts/browser-test starts the server and passes its address and demo credentials in
// the environment; running `node --test tests/browser/` by hand needs the same variables.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests with scripts/browser-test`);
  return v;
}

export const BASE = env('KASSA_URL').replace(/\/$/, '');
const API_KEY = env('KASSA_API_KEY');
export const MERCHANT_ID = env('KASSA_MERCHANT_ID');
export const LOCATION_ID = env('KASSA_LOCATION_ID');

export const PHONE = { width: 375, height: 667 };
export const TABLET = { width: 1024, height: 768 };

// ---------------------------------------------------------------- merchant API

/** One merchant API call; returns the parsed body and fails the test on an unexpected status. */
export async function merchant(method, path, body, { expect = [200, 201, 204], headers = {} } = {}) {
  const res = await fetch(BASE + path, {
    method,
    headers: {
      Authorization: `Basic ${API_KEY}`,
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  assert.ok(expect.includes(res.status), `${method} ${path} → ${res.status} ${text}`);
  return json;
}

export async function createEnrollment() {
  const e = await merchant('POST', '/ipp/v1/enrollments', { location_id: LOCATION_ID, metadata: { till: 'browser-test' } },
    { expect: [201] });
  assert.match(e.enrollment_code, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/, 'enrollment code shape');
  assert.equal(e.status, 'PENDING');
  return e;
}

/** A cart worth 1,234.50 SEK: a discounted line and a 12 % food line beside a 25 % one. */
export function saleBody(deviceId, extra = {}) {
  return {
    device_id: deviceId,
    order_amount: 123450,
    order_tax_amount: 23905,
    purchase_currency: 'SEK',
    merchant_reference1: `bt-${Date.now()}`,
    order_items: [
      { name: 'Headphones', quantity: 1, unit_price: 125000, total_discount_amount: 10000, total_amount: 115000, tax_rate: 2500, total_tax_amount: 23000 },
      { name: 'Espresso', quantity: 2, unit_price: 4225, total_amount: 8450, tax_rate: 1200, total_tax_amount: 905 },
    ],
    ...extra,
  };
}
export const SALE_TOTAL = { 'en-US': 'SEK 1,234.50', 'sv-SE': '1 234,50 kr' };

export async function createSession(deviceId, extra) {
  const s = await merchant('POST', '/ipp/v1/sessions', saleBody(deviceId, extra), { expect: [200] });
  assert.equal(s.status, 'CREATED');
  assert.equal(s.device_id, deviceId);
  return s;
}

export const getSession = (id) => merchant('GET', `/ipp/v1/sessions/${id}`);

/** Poll until fn() returns a truthy value (for server-side state that settles asynchronously). */
export async function eventually(fn, { timeout = 5000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

// ---------------------------------------------------------------- browser

export async function launch() {
  return chromium.launch({
    executablePath: process.env.KASSA_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

/**
 * A fresh browser context (empty localStorage) with the POS open. Collects uncaught page
 * errors and console errors so a test can assert the app ran cleanly.
 */
export async function openPos(browser, { viewport, locale = 'en-US', label }) {
  const context = await browser.newContext({ viewport, locale, deviceScaleFactor: 1, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000); // generous: CI machines can be busy
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  await page.goto(`${BASE}/pos`);
  let shot = 0;
  const pos = {
    page, context, problems, label,
    byId: (id) => page.getByTestId(id),
    /** Full-viewport screenshot, numbered in the order the screens appeared. */
    async screenshot(name) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      shot += 1;
      const file = join(SCREENSHOTS, `${label}-${String(shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, animations: 'disabled' });
      return file;
    },
    /** The one <main> screen shown now (app.js keeps its name in data-screen). */
    screen: () => page.locator('#app').getAttribute('data-screen'),
    async close() { await context.close(); },
  };
  return pos;
}

/** Pair the open POS with a new enrollment code and wait for the live stream. Returns the device id. */
export async function pair(pos, name) {
  const { page, byId } = pos;
  await byId('screen-pair').waitFor();
  await pos.screenshot('pair');
  const enrollment = await createEnrollment();
  // Typed as a clerk would: lower case, without the dash (the app normalizes both).
  await byId('enroll-code').pressSequentially(enrollment.enrollment_code.replace('-', '').toLowerCase());
  assert.equal(await byId('enroll-code').inputValue(), enrollment.enrollment_code.replace('-', ''),
    'the code field upper-cases as the clerk types');
  if (name) await byId('enroll-name').fill(name);
  await byId('enroll-submit').click();
  await byId('screen-waiting').waitFor();
  await page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();

  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('kassa.pos.device')));
  assert.ok(stored?.id && stored?.token, 'the device and its token are kept in localStorage');
  assert.match(stored.token, /^kdt_/);

  // The merchant sees the new device in its list (newest first), at the enrollment's
  // location, online. (Other test files may pair at the same time: find it by id.)
  const devices = await merchant('GET', `/ipp/v1/devices?location_id=${LOCATION_ID}&page_size=100`);
  const created = devices.content.map((d) => Date.parse(d.created_at));
  assert.deepEqual(created, [...created].sort((a, b) => b - a), 'devices are listed newest first');
  const dev = devices.content.find((d) => d.id === stored.id);
  assert.ok(dev, 'the paired device is in the merchant\'s list');
  assert.equal(dev.platform, 'WEB');
  assert.equal(dev.location_id, LOCATION_ID);
  assert.equal(dev.metadata?.till, 'browser-test', 'metadata copied from the enrollment');
  if (name) assert.equal(dev.name, name);
  await eventually(async () => (await merchant('GET', `/ipp/v1/devices/${stored.id}`)).online === true,
    { what: 'the device to show online' });

  const enrollments = await merchant('GET', '/ipp/v1/enrollments?include_consumed=true&page_size=100');
  const used = enrollments.content.find((e) => e.enrollment_id === enrollment.enrollment_id);
  assert.equal(used?.status, 'CONSUMED', 'the code is used up');
  return stored.id;
}

/** Whitespace-insensitive text (Intl uses no-break and narrow no-break spaces). */
export const squash = (s) => String(s).replace(/\s+/g, ' ').trim();

export async function textOf(locator) {
  return squash(await locator.textContent());
}
