// Every portal page at phone (375×667) and desktop (1280×800) size: a screenshot each
// (test-artifacts/screenshots/portal-<page>-<size>.png) and axe-core reporting no serious or
// critical violation. Also: markup in a device name stays text, locations are created,
// edited and deleted, and an error shows the API's message with its correlation id.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, merchant, squash, LOCATION_ID } from './helpers.mjs';
import {
  openPortal, signIn, goto, checkA11y, shoot, startReceiver, SIZES, DESKTOP, PORTAL_MISSING,
} from './portal-helpers.mjs';

let browser;
let receiver;
const data = {};

before(async () => {
  if (PORTAL_MISSING) return;
  browser = await launch();
  receiver = await startReceiver();
  // Something on every page, made the fast way (the merchant API with the demo key).
  const endpoint = await merchant('POST', '/ipp/v1/webhook-endpoints', { url: receiver.url, description: 'Screenshots' }, { expect: [201] });
  const device = await merchant('POST', '/ipp/v1/dev/devices', { name: 'Counter 2', location_id: LOCATION_ID }, { expect: [201] });
  const paid = await merchant('POST', '/ipp/v1/sessions', {
    device_id: device.id, order_amount: 23900, purchase_currency: 'SEK', merchant_reference1: `shots-${Date.now()}`,
    order_items: [
      { name: 'Linen shirt', quantity: 1, unit_price: 19900, total_amount: 19900, tax_rate: 2500, total_tax_amount: 3980 },
      { name: 'Socks', quantity: 2, unit_price: 2000, total_amount: 4000, tax_rate: 2500, total_tax_amount: 800 },
    ],
  }, { expect: [200] });
  await merchant('POST', `/ipp/v1/dev/sessions/${paid.session_id}/simulate-tap?outcome=INSUFFICIENT_FUNDS`);
  const tap = await merchant('POST', `/ipp/v1/dev/sessions/${paid.session_id}/simulate-tap?outcome=SUCCESS`);
  Object.assign(data, { endpoint, device, session: tap.session });
});
after(async () => { await browser?.close(); await receiver?.close(); });

const skip = PORTAL_MISSING || false;

test('every page: screenshots at phone and desktop size, no serious or critical axe violations', { skip }, async () => {
  const pages = [
    ['sessions', '#/sessions', 'page-sessions'],
    ['session', `#/sessions/${data.session.session_id}`, 'page-session'],
    ['order', `#/orders/${data.session.order_id}`, 'page-order'],
    ['devices', '#/devices', 'page-devices'],
    ['locations', '#/locations', 'page-locations'],
    ['webhooks', '#/webhooks', 'page-webhooks'],
    ['webhook', `#/webhooks/${data.endpoint.id}`, 'page-webhook'],
    ['events', '#/events', 'page-events'],
    ['api-keys', '#/api-keys', 'page-api-keys'],
    ['account', '#/account', 'page-account'],
  ];
  for (const [size, viewport] of SIZES) {
    const portal = await openPortal(browser, { viewport });
    const { page, byId } = portal;
    try {
      await byId('login-email').waitFor();
      await checkA11y(page, `sign-in (${size})`);
      await shoot(page, 'signin', size);
      await signIn(portal);
      for (const [name, hash, testid] of pages) {
        await goto(portal, hash, testid);
        if (name === 'session') {
          // The deliveries are read a moment after the page: wait for them in the picture.
          await page.locator('[data-testid="webhook-event"] [data-testid="delivery"]').first().waitFor({ timeout: 15000 });
        }
        await checkA11y(page, `${name} (${size})`);
        await shoot(page, name, size);
      }
      // The pairing dialog with its QR code.
      await goto(portal, '#/devices', 'page-devices');
      await byId('pair-device').click();
      await byId('enroll-location').selectOption(LOCATION_ID);
      await byId('dialog-confirm').click();
      await byId('enroll-qr').waitFor();
      await checkA11y(page, `pairing dialog (${size})`);
      await shoot(page, 'devices-pair', size);
      await byId('dialog-done').click();
      // The test-session dialog.
      await goto(portal, '#/sessions', 'page-sessions');
      await byId('new-test-session').click();
      await byId('new-session-dialog').waitFor();
      await checkA11y(page, `new test session dialog (${size})`);
      await shoot(page, 'sessions-new', size);
      await byId('dialog-cancel').click();
      assert.deepEqual(portal.problems, [], 'no page errors or console errors');
    } finally {
      await portal.close();
    }
  }
});

test('a device name with markup is shown as text, never run', { skip }, async () => {
  const name = '<img src=x onerror="window.__xss=(window.__xss||0)+1">';
  const portal = await openPortal(browser, { viewport: DESKTOP });
  const { page, byId } = portal;
  try {
    await signIn(portal);
    await goto(portal, '#/devices', 'page-devices');
    await byId('add-simulated').click();
    await byId('sim-device-name').fill(name);
    await byId('dialog-confirm').click();
    const cell = page.locator('[data-testid="device-name"]', { hasText: '<img' });
    await cell.waitFor();
    assert.equal(squash(await cell.textContent()), name, 'the name is shown as typed');
    assert.equal(await page.locator('#main img').count(), 0, 'no <img> element was made');

    // Also where the name shows on other pages: a session's page and the sessions filter.
    const devices = await merchant('GET', '/ipp/v1/devices?page_size=100');
    const device = devices.content.find((d) => d.name === name);
    const s = await merchant('POST', '/ipp/v1/sessions', {
      device_id: device.id, order_amount: 1000, purchase_currency: 'EUR',
      order_items: [{ name: '<b>bold</b> & "quoted"', quantity: 1, unit_price: 1000, total_amount: 1000, tax_rate: 0, total_tax_amount: 0 }],
    }, { expect: [200] });
    await goto(portal, `#/sessions/${s.session_id}`, 'page-session');
    await page.locator('#main a', { hasText: '<img' }).waitFor();
    await page.locator('[data-testid="cart-items"]', { hasText: '<b>bold</b> & "quoted"' }).waitFor();
    await goto(portal, '#/sessions', 'page-sessions');
    assert.equal(await page.locator('#main img, #main b').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no handler ran');
    await merchant('PUT', `/ipp/v1/sessions/${s.session_id}/cancel`);
    assert.deepEqual(portal.problems, []);
  } finally {
    await portal.close();
  }
});

test('locations: create, edit, delete; a refusal shows the message and correlation id', { skip }, async () => {
  const portal = await openPortal(browser, { viewport: DESKTOP });
  const { page, byId } = portal;
  try {
    await signIn(portal);
    await goto(portal, '#/locations', 'page-locations');
    const name = `Kiosk ${Date.now()}`;
    // By keyboard alone: the button, the fields in order, Enter to submit.
    await byId('add-location').focus();
    await page.keyboard.press('Enter');
    await byId('location-dialog').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'location-input-name', 'the dialog starts on its first field');
    await page.keyboard.type(name);
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'location-input-city');
    await page.keyboard.type('Göteborg');
    await page.keyboard.press('Tab');
    await page.keyboard.type('s1');
    await page.keyboard.press('Enter');
    await page.locator('dialog [role="alert"]', { hasText: 'two-letter' }).waitFor();
    assert.equal(await byId('location-input-country').getAttribute('aria-invalid'), 'true');
    await byId('location-input-country').fill('se');
    await page.keyboard.press('Enter');
    const row = page.locator('[data-testid="location-row"]', { hasText: name });
    await row.waitFor();
    assert.match(squash(await row.textContent()), /Göteborg, SE/);

    await row.getByTestId('location-edit').click();
    await byId('location-input-name').fill(`${name} (renamed)`);
    await byId('dialog-confirm').click();
    const renamed = page.locator('[data-testid="location-row"]', { hasText: `${name} (renamed)` });
    await renamed.waitFor();

    // The demo location has devices: the server refuses, and the dialog shows why.
    const demo = page.locator(`tr[data-key="${LOCATION_ID}"]`);
    await demo.getByTestId('location-delete').click();
    await byId('dialog-confirm').click();
    const err = page.locator('dialog [data-testid="error"]');
    await err.waitFor();
    assert.match(squash(await err.textContent()), /device/i);
    assert.match(squash(await err.getByTestId('correlation-id').textContent()), /^[0-9a-f-]{36}$/);
    await byId('dialog-cancel').click();

    await renamed.getByTestId('location-delete').click();
    await byId('dialog-confirm').click();
    await renamed.waitFor({ state: 'detached' });
    assert.deepEqual(portal.problems.filter((p) => !/status of 409/.test(p)), []);
  } finally {
    await portal.close();
  }
});
