// The merchant portal end to end, as a merchant uses it after `kassa serve`: sign in (a wrong
// password refused), register a webhook endpoint, pair the web POS by opening the QR code's
// link in a second browser, sell from the portal and watch the session reach FINALIZED live,
// read its timeline and deliveries, resend a delivery, refund the order, create and revoke an
// API key, a viewer refused on a change, sign out (and the old cookie refused).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, merchant, eventually, squash, BASE, PHONE, LOCATION_ID } from './helpers.mjs';
import {
  openPortal, signIn, goto, startReceiver, createPortalUser, DESKTOP,
  PORTAL_EMAIL, PORTAL_MISSING,
} from './portal-helpers.mjs';

let browser;
let receiver;
before(async () => {
  if (PORTAL_MISSING) return;
  browser = await launch();
  receiver = await startReceiver();
});
after(async () => { await browser?.close(); await receiver?.close(); });

test('portal: sign in, pair a POS by QR link, sell live, webhooks, resend, refund, keys, viewer, sign out', { skip: PORTAL_MISSING || false }, async () => {
  const portal = await openPortal(browser, { viewport: DESKTOP });
  const { page, byId } = portal;
  let pos;
  try {
    // ------------------------------------------------------------ sign in
    await byId('login-email').fill(PORTAL_EMAIL);
    await byId('login-password').fill('not-the-password-1');
    await byId('login-submit').click();
    await byId('login-errors').getByText('Wrong email or password').waitFor();
    assert.equal(await byId('page-sessions').count(), 0, 'a wrong password does not sign in');
    await signIn(portal);
    assert.equal(squash(await byId('mode').textContent()), 'Playground');

    // ------------------------------------------------------------ a webhook endpoint
    await goto(portal, '#/webhooks', 'page-webhooks');
    await byId('add-endpoint').click();
    await byId('endpoint-url').fill(receiver.url);
    await byId('endpoint-description').fill('browser test receiver');
    await byId('dialog-confirm').click();
    const secret = squash(await byId('secret-value').textContent());
    assert.match(secret, /^whsec_/, 'the signing secret is shown once');
    await byId('dialog-done').click();
    await page.locator('[data-testid="endpoint-row"]', { hasText: receiver.url }).waitFor();

    // ------------------------------------------------------------ pair the web POS from the QR code's link
    await goto(portal, '#/devices', 'page-devices');
    await byId('pair-device').click();
    await byId('enroll-location').selectOption(LOCATION_ID);
    await byId('dialog-confirm').click();
    const code = squash(await byId('enroll-code').textContent());
    assert.match(code, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    const link = await byId('enroll-qr').getAttribute('data-value');
    assert.equal(link, `${BASE}/pos#enroll=${code}`, 'the QR code holds the pairing link');
    assert.equal(await byId('enroll-qr').locator('svg path').count(), 1, 'the QR code is drawn');

    // A second browser (the shop's phone) opens the link: the POS pairs itself, no typing.
    const posContext = await browser.newContext({ viewport: PHONE, locale: 'en-US', deviceScaleFactor: 1 });
    pos = await posContext.newPage();
    pos.setDefaultTimeout(10000);
    await pos.goto(link);
    await pos.getByTestId('screen-waiting').waitFor();
    await pos.locator('[data-testid="connection-status"][data-state="online"]').waitFor();
    assert.equal(new URL(pos.url()).hash, '', 'the code leaves the address bar');
    const deviceId = await pos.evaluate(() => JSON.parse(localStorage.getItem('kassa.pos.device')).id);

    await byId('dialog-done').click();
    const row = page.locator(`tr[data-key="${deviceId}"]`);
    await row.locator('[data-testid="device-presence"][data-online="true"]').waitFor();

    // ------------------------------------------------------------ sell from the portal, live
    await goto(portal, '#/sessions', 'page-sessions');
    await byId('new-test-session').click();
    await byId('test-device').selectOption(deviceId);
    await byId('test-amount').fill('125.50');
    const reference = `portal-${Date.now()}`;
    await byId('test-reference').fill(reference);
    await byId('dialog-confirm').click();
    await byId('page-session').waitFor();
    const sessionId = page.url().split('/').pop();
    await page.locator('[data-testid="session-status"][data-status="CREATED"]').waitFor();
    assert.match(squash(await byId('session-amount').textContent()), /125\.50/);

    // The clerk picks card on the POS; the portal follows without a reload.
    await pos.getByTestId('screen-cart').waitFor();
    await pos.getByTestId('method-CARD_TAP').click();
    await pos.getByTestId('screen-tap').waitFor();
    await page.locator('[data-testid="session-status"][data-status="ACTIVE"]').waitFor();

    // Simulated tap from the portal: FINALIZED here and the receipt on the POS.
    await byId('sim-approve').click();
    await page.locator('[data-testid="session-status"][data-status="FINALIZED"]').waitFor();
    await pos.getByTestId('screen-receipt').waitFor();

    // Timeline: created, activated, the approved attempt, finalized.
    await eventually(async () => (await byId('timeline-entry').count()) >= 4, { what: 'four timeline entries' });
    const entries = await byId('timeline-entry').allTextContents();
    assert.match(squash(entries[0]), /Created/);
    assert.ok(entries.some((e) => /Payment attempt approved/.test(e)), entries.join(' | '));
    assert.equal(await byId('timeline-entry').last().getAttribute('data-to'), 'FINALIZED');

    // Deliveries of its events reached the receiver (HTTP 200), shown per event.
    const finalized = page.locator('[data-testid="webhook-event"][data-type="ipp.session.finalized"]');
    await finalized.locator('[data-testid="delivery-status"]', { hasText: 'HTTP 200' }).first().waitFor({ timeout: 15000 });
    const mine = () => receiver.received.filter((r) => r.body?.data?.session_id === sessionId);
    await eventually(() => mine().some((r) => r.body.type === 'ipp.session.finalized'), { what: 'the finalized webhook' });
    const eventId = await finalized.getAttribute('data-event-id');

    // Resend: the receiver gets the same event (same webhook-id) again; the portal shows both attempts.
    await finalized.getByTestId('resend').click();
    await eventually(() => receiver.received.filter((r) => r.headers['webhook-id'] === eventId).length >= 2,
      { timeout: 10000, what: 'the resent delivery' });
    await eventually(async () => (await finalized.locator('[data-testid="delivery"]').count()) >= 2,
      { timeout: 10000, what: 'two attempts listed for the event' });

    // ------------------------------------------------------------ refund the order (confirmed in a dialog)
    await page.locator('[data-testid="order-status"]', { hasText: 'Captured' }).waitFor();
    await byId('order-refund').click();
    await byId('order-amount').fill('25.00');
    await byId('dialog-confirm').click();
    await page.locator('[data-testid="order-status"]', { hasText: 'Part refunded' }).waitFor();
    const session = await merchant('GET', `/ipp/v1/sessions/${sessionId}`);
    const order = await merchant('GET', `/ordermanagement/v1/orders/${session.order_id}`);
    assert.equal(order.refunded_amount, 2500);
    assert.equal(order.status, 'PART_REFUNDED');
    await byId('order-link').click();
    await byId('page-order').waitFor();

    // ------------------------------------------------------------ API keys: create (shown once), revoke
    await goto(portal, '#/api-keys', 'page-api-keys');
    await byId('add-key').click();
    const description = `browser test ${Date.now()}`;
    await byId('key-description').fill(description);
    await byId('dialog-confirm').click();
    const apiKey = squash(await byId('secret-value').textContent());
    assert.match(apiKey, /^kassa_test_/);
    await byId('dialog-done').click();
    const keyRow = page.locator('[data-testid="key-row"]', { hasText: description });
    await keyRow.getByTestId('key-status').getByText('Active').waitFor();
    const withKey = () => fetch(`${BASE}/ipp/v1/sessions?page_size=1`, { headers: { Authorization: `Basic ${apiKey}` } });
    assert.equal((await withKey()).status, 200, 'the new key works');
    await keyRow.getByTestId('key-revoke').click();
    await byId('dialog-confirm').click();
    await keyRow.getByTestId('key-status').getByText('Revoked').waitFor();
    assert.equal((await withKey()).status, 401, 'a revoked key is refused');

    // ------------------------------------------------------------ sign out; the old cookie is dead
    const cookies = await portal.context.cookies();
    assert.ok(cookies.some((c) => c.httpOnly), 'the session cookie is HttpOnly');
    await byId('sign-out').click();
    await byId('login-notice').getByText('signed out').waitFor();
    await page.reload();
    await byId('login-email').waitFor();
    const replay = await fetch(`${BASE}/portal/api/me`, { headers: { Cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
    assert.equal(replay.status, 401, 'a cookie replayed after sign-out is refused');

    assert.deepEqual(portal.problems, [], 'no page errors or console errors');
  } finally {
    await pos?.context().close();
    await portal.close();
  }
});

test('portal: a viewer sees no change buttons and the API refuses its changes', { skip: PORTAL_MISSING || false }, async (t) => {
  const email = `viewer-${Date.now()}@kassa.test`;
  const password = 'viewer-password-123';
  const made = await createPortalUser(email, password, 'viewer');
  if (!made) {
    t.skip('KASSA_BIN/KASSA_DATABASE_URL not set: run with scripts/browser-test to create a viewer');
    return;
  }
  assert.equal(made.code, 0, `kassa admin user create: ${made.err}${made.out}`);
  const portal = await openPortal(browser, { viewport: DESKTOP });
  const { page, byId } = portal;
  try {
    await signIn(portal, email, password);
    await byId('read-only').waitFor();
    assert.equal(await byId('new-test-session').count(), 0, 'no “New test session” for a viewer');
    await goto(portal, '#/webhooks', 'page-webhooks');
    assert.equal(await byId('add-endpoint').count(), 0);
    await goto(portal, '#/devices', 'page-devices');
    assert.equal(await byId('pair-device').count(), 0);
    assert.equal(await byId('device-edit').count(), 0);
    await goto(portal, '#/api-keys', 'page-api-keys');
    assert.equal(await byId('add-key').count(), 0);

    // The API refuses a change even with a valid cookie and CSRF token.
    const refused = await page.evaluate(async () => {
      const me = await (await fetch('/portal/api/me')).json();
      const res = await fetch('/ipp/v1/locations', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify({ name: 'Viewer was here' }),
      });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error_code, 'FORBIDDEN');
    assert.ok(refused.body.correlation_id);
    assert.deepEqual(portal.problems, []);
  } finally {
    await portal.close();
  }
});
