// Tests of the portal's address parsing. Run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, href, NAV } from './routes.js';

const ID = '01a20bd1-1418-7107-adb0-c8e9d9318480';

test('lists and details parse', () => {
  assert.deepEqual(parseRoute(''), { page: 'sessions', id: null, query: {}, section: 'sessions' });
  assert.deepEqual(parseRoute('#/'), { page: 'sessions', id: null, query: {}, section: 'sessions' });
  assert.deepEqual(parseRoute('#/sessions?status=ACTIVE&page=2'),
    { page: 'sessions', id: null, query: { status: 'ACTIVE', page: '2' }, section: 'sessions' });
  assert.deepEqual(parseRoute(`#/sessions/${ID}`), { page: 'session', id: ID, query: {}, section: 'sessions' });
  assert.deepEqual(parseRoute(`#/orders/${ID}`), { page: 'order', id: ID, query: {}, section: 'sessions' });
  assert.deepEqual(parseRoute(`#/webhooks/${ID}`), { page: 'webhook', id: ID, query: {}, section: 'webhooks' });
  for (const { id } of NAV) assert.equal(parseRoute(`#/${id}`).page, id);
});

test('anything else is not found', () => {
  assert.equal(parseRoute('#/nope').page, 'not-found');
  assert.equal(parseRoute('#/sessions/not-a-uuid').page, 'not-found');
  assert.equal(parseRoute(`#/sessions/${ID}/more`).page, 'not-found');
  assert.equal(parseRoute(`#/devices/${ID}`).page, 'not-found');
  assert.equal(parseRoute('#/orders').page, 'not-found');
  assert.equal(parseRoute('#/sessions/%E0%A4%A').page, 'not-found', 'a broken escape does not throw');
});

test('href builds what parseRoute reads', () => {
  assert.equal(href('sessions'), '#/sessions');
  assert.equal(href('session', ID), `#/sessions/${ID}`);
  assert.equal(href('order', ID), `#/orders/${ID}`);
  assert.equal(href('sessions', null, { status: 'FINALIZED', device_id: '', page: 0 }), '#/sessions?status=FINALIZED&page=0');
  const r = parseRoute(href('sessions', null, { merchant_reference1: 'a&b c' }));
  assert.equal(r.query.merchant_reference1, 'a&b c');
});
