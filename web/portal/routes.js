// The portal's addresses. Pages live in the URL fragment (`/portal#/sessions/…`), so the
// server serves one page for `/portal` and every view can be bookmarked, shared, reloaded and
// reached with the browser's Back button. Pure functions: unit-tested under node.

/** Pages in the navigation, in order. `id` is the first path segment. */
export const NAV = [
  { id: 'sessions', label: 'Sessions' },
  { id: 'devices', label: 'Devices' },
  { id: 'locations', label: 'Locations' },
  { id: 'webhooks', label: 'Webhooks' },
  { id: 'events', label: 'Events' },
  { id: 'api-keys', label: 'API keys' },
  { id: 'account', label: 'Account' },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `#/sessions/ID?x=1` → {page: 'session', id: 'ID', query: {x: '1'}, section: 'sessions'}.
 * Unknown addresses give {page: 'not-found'}; an empty one is the sessions list.
 */
export function parseRoute(hash) {
  const raw = String(hash || '').replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const query = Object.fromEntries(new URLSearchParams(queryPart));
  const parts = pathPart.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  const [first = 'sessions', id, extra] = parts;
  const one = (page, section) => (id && UUID.test(id) && !extra ? { page, id, query, section } : notFound(section));
  switch (first) {
    case 'sessions': return id ? one('session', 'sessions') : list('sessions', query, extra);
    case 'orders': return one('order', 'sessions');
    case 'webhooks': return id ? one('webhook', 'webhooks') : list('webhooks', query, extra);
    case 'devices':
    case 'locations':
    case 'events':
    case 'api-keys':
    case 'account':
      return id ? notFound(first) : list(first, query, extra);
    default: return notFound(null);
  }
}

function list(page, query, extra) {
  return extra ? notFound(page) : { page, id: null, query, section: page };
}

function notFound(section) {
  return { page: 'not-found', id: null, query: {}, section };
}

/** The address of a page: href('session', id), href('sessions', null, {status: 'ACTIVE'}). */
export function href(page, id = null, query = {}) {
  const base = {
    session: 'sessions', order: 'orders', webhook: 'webhooks',
  }[page] || page;
  const path = id ? `#/${base}/${encodeURIComponent(id)}` : `#/${base}`;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
