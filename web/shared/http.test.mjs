// Tests of the request core shared by the web POS and the portal. Run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequester, ApiError, query } from './http.js';
import { createPortalApi } from '../portal/api.js';

function mockFetch(respond) {
  const seen = [];
  globalThis.fetch = async (path, init) => {
    seen.push({ path, ...init });
    const { status = 200, body = null, headers = {} } = respond(path, init) || {};
    return new Response(body === null ? null : JSON.stringify(body), { status, headers });
  };
  return seen;
}

test('query leaves out empty values', () => {
  assert.equal(query({ a: 1, b: '', c: null, d: undefined, e: 'x y' }), '?a=1&e=x+y');
  assert.equal(query({}), '');
});

test('a Kustom error body becomes an ApiError with messages and correlation id', async () => {
  mockFetch(() => ({ status: 409, body: { correlation_id: 'c-1', error_code: 'NOT_ALLOWED', error_messages: ['session is FINALIZED'] } }));
  const request = createRequester();
  await assert.rejects(request('PUT', '/x'), (e) => e instanceof ApiError && e.status === 409
    && e.code === 'NOT_ALLOWED' && e.messages[0] === 'session is FINALIZED' && e.correlationId === 'c-1' && !e.transient);
});

test('a 401 calls onUnauthorized unless the call opts out', async () => {
  mockFetch(() => ({ status: 401, body: { correlation_id: 'c', error_code: 'UNAUTHORIZED', error_messages: ['no'] } }));
  let hits = 0;
  const request = createRequester({ onUnauthorized: () => { hits++; } });
  await assert.rejects(request('GET', '/a'));
  await assert.rejects(request('GET', '/a', undefined, { handle401: false }));
  await assert.rejects(request('GET', '/a', undefined, { auth: false }));
  assert.equal(hits, 1);
});

test('the portal sends its CSRF token on changes only, and its cookie on all', async () => {
  const seen = mockFetch(() => ({ status: 200, body: { content: [], last: true } }));
  const api = createPortalApi({ onUnauthorized: () => {} });
  api.setCsrf('tok');
  await api.sessions.list({ status: 'ACTIVE' });
  await api.locations.create({ name: 'A' });
  await api.devices.remove('d1');
  assert.equal(seen[0].path, '/ipp/v1/sessions?status=ACTIVE');
  assert.equal(seen[0].headers['X-CSRF-Token'], undefined);
  assert.equal(seen[1].headers['X-CSRF-Token'], 'tok');
  assert.equal(seen[2].method, 'DELETE');
  assert.equal(seen[2].headers['X-CSRF-Token'], 'tok');
  assert.ok(seen.every((r) => r.credentials === 'same-origin'));
  await api.login('a@b.c', 'pw');
  assert.equal(seen[3].headers['X-CSRF-Token'], undefined, 'sign-in carries no token');
});
