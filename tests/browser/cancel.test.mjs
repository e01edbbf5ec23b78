// Cancels: the merchant cancels while the customer is at the tap screen, and the clerk
// cancels from the cart. Both end on the CANCELLED screen and on the server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPos, pair, createSession, getSession, merchant, textOf, TABLET } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('merchant cancel reaches the tap screen at once, then the clerk cancels the next sale', async () => {
  const pos = await openPos(browser, { viewport: TABLET, label: 'cancel' });
  const { page, byId } = pos;
  try {
    const deviceId = await pair(pos);

    const s = await createSession(deviceId);
    await byId('screen-cart').waitFor();
    await byId('method-CARD_TAP').click();
    await byId('screen-tap').waitFor();
    await page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();

    const cancelled = await merchant('PUT', `/ipp/v1/sessions/${s.session_id}/cancel`);
    assert.equal(cancelled.status, 'CANCELLED');
    // Pushed, not polled: well within the 2 s the app would take to poll.
    await page.locator('[data-testid="screen-terminal"][data-status="CANCELLED"]').waitFor({ timeout: 2000 });
    assert.equal(await textOf(byId('terminal-title')), 'Cancelled by merchant');
    assert.equal(await byId('outcome-SUCCESS').count(), 0, 'no way left to charge the card');
    await pos.screenshot('merchant-cancelled');

    await byId('done').click();
    await byId('screen-waiting').waitFor();

    // The device is free again: the next sale arrives; this time the clerk cancels it.
    const next = await createSession(deviceId);
    await byId('screen-cart').waitFor();
    await byId('cancel-session').click();
    await page.locator('[data-testid="screen-terminal"][data-status="CANCELLED"]').waitFor();
    assert.equal(await textOf(byId('terminal-title')), 'Cancelled');
    await pos.screenshot('clerk-cancelled');
    assert.equal((await getSession(next.session_id)).status, 'CANCELLED');
    const { events } = await merchant('GET', `/ipp/v1/sessions/${next.session_id}/events`);
    assert.ok(events.some((e) => e.type === 'transition' && e.to === 'CANCELLED' && e.actor === 'DEVICE'),
      JSON.stringify(events));

    assert.deepEqual(pos.problems, [], 'no page errors or console errors');
  } finally {
    await pos.close();
  }
});
