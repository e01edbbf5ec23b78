// The portal's client of the public API. The portal has no private data routes: it calls the
// same /ipp/v1 and /ordermanagement/v1 routes a merchant's backend does, authenticated by the
// sign-in cookie (sent by the browser, HttpOnly, so never seen here) plus the CSRF token from
// the sign-in answer on every change. The request core is the one the web POS uses.

import { ApiError, createRequester, query } from '../shared/http.js';

export { ApiError };

const enc = encodeURIComponent;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A long-poll waits this long on the server; the request gives it a margin on top. */
export const FEED_WAIT_S = 25;

/**
 * @param {{onUnauthorized: (err: ApiError) => void}} hooks  runs on a 401 to any call made
 *   while signed in: the portal session expired (12 h idle), was revoked or signed out elsewhere
 */
export function createPortalApi({ onUnauthorized }) {
  let csrf = null;
  const request = createRequester({
    credentials: 'same-origin',
    headers: (method) => (SAFE.has(method) || !csrf ? {} : { 'X-CSRF-Token': csrf }),
    onUnauthorized,
  });
  const get = (path, params) => request('GET', path + query(params));
  // Every page is 1..100 long; lists the portal shows whole (devices, locations for a
  // picker) are read page by page, with a ceiling so a huge account cannot stall a page.
  async function all(path, params = {}, maxPages = 10) {
    const out = [];
    for (let page = 0; page < maxPages; page++) {
      const p = await get(path, { ...params, page_number: page, page_size: 100 });
      out.push(...(p?.content || []));
      if (!p || p.last || !p.content?.length) break;
    }
    return out;
  }

  return {
    // Portal sign-in (the only /portal/api routes).
    setCsrf(token) { csrf = token || null; },
    login: (email, password) => request('POST', '/portal/api/login', { email, password }, { auth: false }),
    me: () => request('GET', '/portal/api/me', undefined, { auth: false }),
    // Sign-out carries the CSRF token but does not bounce through onUnauthorized: an
    // already expired session is signed out all the same.
    logout: () => request('POST', '/portal/api/logout', undefined, { handle401: false }),

    processors: () => get('/ipp/v1/processors'),
    sessions: {
      list: (params) => get('/ipp/v1/sessions', params),
      get: (id, params) => get(`/ipp/v1/sessions/${enc(id)}`, params),
      create: (body) => request('POST', '/ipp/v1/sessions', body),
      cancel: (id) => request('PUT', `/ipp/v1/sessions/${enc(id)}/cancel`),
      timeline: (id) => get(`/ipp/v1/sessions/${enc(id)}/events`),
      simulateTap: (id, outcome) => request('POST', `/ipp/v1/dev/sessions/${enc(id)}/simulate-tap${query({ outcome })}`),
    },
    events: {
      /** One read of the feed; `wait` makes it a long-poll. */
      list: (params, opts = {}) => request('GET', `/ipp/v1/events${query(params)}`, undefined,
        params?.wait ? { timeoutMs: (Number(params.wait) + 15) * 1000, ...opts } : opts),
      redeliver: (eventId) => request('POST', `/ipp/v1/events/${enc(eventId)}/redeliver`),
    },
    webhooks: {
      list: (params) => get('/ipp/v1/webhook-endpoints', params),
      all: () => all('/ipp/v1/webhook-endpoints'),
      get: (id) => get(`/ipp/v1/webhook-endpoints/${enc(id)}`),
      create: (body) => request('POST', '/ipp/v1/webhook-endpoints', body),
      update: (id, body) => request('PUT', `/ipp/v1/webhook-endpoints/${enc(id)}`, body),
      remove: (id) => request('DELETE', `/ipp/v1/webhook-endpoints/${enc(id)}`),
      rotate: (id) => request('POST', `/ipp/v1/webhook-endpoints/${enc(id)}/rotate-secret`),
      deliveries: (id, params) => get(`/ipp/v1/webhook-endpoints/${enc(id)}/deliveries`, params),
    },
    devices: {
      list: (params) => get('/ipp/v1/devices', params),
      all: (params) => all('/ipp/v1/devices', params),
      get: (id) => get(`/ipp/v1/devices/${enc(id)}`),
      update: (id, body) => request('PUT', `/ipp/v1/devices/${enc(id)}`, body),
      remove: (id) => request('DELETE', `/ipp/v1/devices/${enc(id)}`),
      createSimulated: (body) => request('POST', '/ipp/v1/dev/devices', body),
    },
    enrollments: {
      list: (params) => get('/ipp/v1/enrollments', params),
      create: (body) => request('POST', '/ipp/v1/enrollments', body),
      remove: (id) => request('DELETE', `/ipp/v1/enrollments/${enc(id)}`),
    },
    locations: {
      list: (params) => get('/ipp/v1/locations', params),
      all: () => all('/ipp/v1/locations'),
      get: (id) => get(`/ipp/v1/locations/${enc(id)}`),
      create: (body) => request('POST', '/ipp/v1/locations', body),
      update: (id, body) => request('PUT', `/ipp/v1/locations/${enc(id)}`, body),
      remove: (id) => request('DELETE', `/ipp/v1/locations/${enc(id)}`),
    },
    orders: {
      get: (id) => get(`/ordermanagement/v1/orders/${enc(id)}`),
      capture: (id, amount) => request('POST', `/ordermanagement/v1/orders/${enc(id)}/captures`, { captured_amount: amount }),
      refund: (id, amount) => request('POST', `/ordermanagement/v1/orders/${enc(id)}/refunds`, { refunded_amount: amount }),
      cancel: (id) => request('POST', `/ordermanagement/v1/orders/${enc(id)}/cancel`),
    },
    apiKeys: {
      list: (params) => get('/ipp/v1/api-keys', params),
      create: (body) => request('POST', '/ipp/v1/api-keys', body),
      revoke: (id) => request('DELETE', `/ipp/v1/api-keys/${enc(id)}`),
    },
  };
}
