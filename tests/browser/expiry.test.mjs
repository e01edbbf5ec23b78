// Expiry: a sale left alone past its expires_in ends on the EXPIRED screen by itself
// (on a POS that was reloaded after pairing).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPos, pair, createSession, getSession, textOf, PHONE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a session with expires_in 10 s shows the EXPIRED screen on its own', async () => {
  const pos = await openPos(browser, { viewport: PHONE, label: 'expiry' });
  const { page, byId } = pos;
  try {
    const deviceId = await pair(pos);
    // The pairing survives a reload (the token is kept in the browser) and the stream reconnects.
    await page.reload();
    await byId('screen-waiting').waitFor();
    await page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('kassa.pos.device')).id), deviceId);

    const s = await createSession(deviceId, { expires_in: 10000 });
    const ttl = Date.parse(s.expires_at) - Date.parse(s.created_at);
    assert.ok(ttl >= 9000 && ttl <= 11000, `expires_at is about 10 s after created_at (${ttl} ms)`);

    await byId('screen-cart').waitFor();
    // The countdown runs on the cart ("Expires in 0:09" or so).
    await page.getByText(/Expires in 0:0\d|Expires in 0:10/).waitFor();
    await pos.screenshot('cart-countdown');

    await page.locator('[data-testid="screen-terminal"][data-status="EXPIRED"]').waitFor({ timeout: 15000 });
    assert.equal(await textOf(byId('terminal-title')), 'Session expired');
    await pos.screenshot('expired');
    assert.equal((await getSession(s.session_id)).status, 'EXPIRED');

    assert.deepEqual(pos.problems, [], 'no page errors or console errors');
  } finally {
    await pos.close();
  }
});
