// The whole sale on a phone and on a tablet: pair with an enrollment code, receive a session
// the merchant created, choose card, take a decline, retry, approve, see the receipt, and
// check on the merchant side that the session is FINALIZED with an order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, openPos, pair, createSession, getSession, merchant, textOf, squash,
  PHONE, TABLET, SALE_TOTAL,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [label, viewport, locale] of [['phone', PHONE, 'en-US'], ['tablet', TABLET, 'sv-SE']]) {
  test(`full sale with a decline and a retry (${label} ${viewport.width}×${viewport.height}, ${locale})`, async () => {
    const pos = await openPos(browser, { viewport, locale, label });
    const { page, byId } = pos;
    try {
      const deviceId = await pair(pos, `Till ${label}`);
      assert.equal(await textOf(byId('device-name')), `Till ${label}`);
      await pos.screenshot('waiting');

      // The merchant's backend creates the sale; the device is told over its stream.
      const created = await createSession(deviceId);
      const id = created.session_id;
      await byId('screen-cart').waitFor();
      assert.equal(await textOf(byId('cart-total')), SALE_TOTAL[locale], 'total formatted in the currency and locale');
      const lines = byId('cart-items').locator('li');
      assert.equal(await lines.count(), 2);
      assert.match(await textOf(lines.nth(0)), /Headphones/);
      assert.match(await textOf(lines.nth(1)), /Espresso.*2 ×/);
      await assertInViewport(page, byId('method-CARD_TAP'), 'card method button');
      assert.equal(await byId('toast').count(), 0, 'the “Paired” note does not cover the cart');
      await pos.screenshot('cart');

      await byId('method-CARD_TAP').click();
      await byId('screen-tap').waitFor();
      assert.equal(await textOf(byId('tap-amount')), SALE_TOTAL[locale]);
      assert.equal((await getSession(id)).status, 'ACTIVE', 'choosing the method activates the session');
      await pos.screenshot('tap');

      // A decline: the session stays ACTIVE and the clerk sees why.
      await byId('outcome-INSUFFICIENT_FUNDS').click();
      await byId('failure-message').waitFor();
      assert.match(await textOf(byId('failure-message')), /Payment failed.*Insufficient funds/);
      await assertInViewport(page, byId('failure-message'), 'decline message');
      const declined = await getSession(id);
      assert.equal(declined.status, 'ACTIVE');
      assert.equal(declined.attempts, 1);
      assert.equal(declined.failure_reason, 'INSUFFICIENT_FUNDS');
      await pos.screenshot('declined');

      await byId('retry').click();
      await byId('failure-message').waitFor({ state: 'detached' });
      await byId('outcome-SUCCESS').click();
      await byId('screen-receipt').waitFor();
      await byId('receipt-qr').locator('svg').waitFor();
      assert.equal(await textOf(byId('receipt-amount')), SALE_TOTAL[locale]);
      await assertInViewport(page, byId('receipt-qr'), 'receipt QR code');
      await assertInViewport(page, byId('done'), '“New sale” button');
      await pos.screenshot('receipt');

      // Merchant side: paid, with an order that exists and matches the cart.
      const paid = await getSession(id);
      assert.equal(paid.status, 'FINALIZED');
      assert.equal(paid.payment_method, 'CARD_TAP');
      assert.equal(paid.attempts, 2);
      assert.ok(paid.order_id, 'a FINALIZED session has an order_id');
      assert.equal(squash(await byId('receipt-order-id').textContent()), paid.order_id, 'receipt shows the order id');
      assert.equal(await byId('receipt-qr').getAttribute('data-value'), `kassa:receipt:${paid.order_id}`);
      const order = await merchant('GET', `/ordermanagement/v1/orders/${paid.order_id}`);
      assert.equal(order.order_id, paid.order_id);
      assert.equal(order.session_id, id);
      assert.equal(order.order_amount, 123450);
      assert.equal(order.purchase_currency, 'SEK');
      assert.equal(order.status, 'CAPTURED', 'auto_capture defaults to true');
      assert.equal(order.order_lines.length, 2);

      const { events } = await merchant('GET', `/ipp/v1/sessions/${id}/events`);
      const attempts = events.filter((e) => e.type === 'attempt').map((e) => e.outcome);
      assert.equal(attempts.length, 2, JSON.stringify(events));
      assert.ok(events.some((e) => e.type === 'transition' && e.to === 'FINALIZED' && e.actor === 'DEVICE'));

      // "New sale" returns to the waiting screen, still live.
      await byId('done').click();
      await byId('screen-waiting').waitFor();
      assert.equal(await byId('connection-status').getAttribute('data-state'), 'online');

      assert.deepEqual(pos.problems, [], 'no page errors or console errors');
    } finally {
      await pos.close();
    }
  });
}

/** The element is fully visible without scrolling the page (the clerk can see and press it). */
async function assertInViewport(page, locator, what) {
  const box = await locator.boundingBox();
  const vp = page.viewportSize();
  assert.ok(box, `${what} is rendered`);
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5,
    `${what} lies inside the ${vp.width}×${vp.height} viewport (box ${JSON.stringify(box)})`);
}
