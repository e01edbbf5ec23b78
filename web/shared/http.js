// The JSON-over-fetch core shared by the web POS (device token) and the merchant portal
// (session cookie + CSRF token). Every failure becomes an ApiError carrying the Kustom error
// body's `error_messages` and `correlation_id`, so each UI has one thing to show whatever
// went wrong, and support can find the request in the server's log.

const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, code, messages, correlationId) {
    super(messages.join('; ') || code);
    this.status = status; // 0 = no HTTP response (offline, timeout)
    this.code = code;
    this.messages = messages;
    this.correlationId = correlationId || null;
  }
  /** Worth retrying the very same request (it is idempotent for us). */
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A request function bound to one way of authenticating.
 *
 * @param {object} o
 * @param {(method: string) => object} [o.headers]  extra headers per request (Authorization,
 *   X-CSRF-Token…); called with the method so only mutating calls need carry a CSRF token
 * @param {(err: ApiError) => void} [o.onUnauthorized]  runs on a 401 to an authenticated
 *   call: the credentials were revoked or expired
 * @param {RequestCredentials} [o.credentials]  fetch's credentials mode ('same-origin' sends
 *   the portal's cookie; the POS sends none)
 * @returns {(method: string, path: string, body?: any, opts?: {auth?: boolean, handle401?: boolean,
 *   timeoutMs?: number, signal?: AbortSignal}) => Promise<any>}  `auth: false` sends no credentials
 *   headers; `handle401: false` keeps a 401 from calling onUnauthorized (default: same as auth)
 */
export function createRequester({ headers: extra = () => ({}), onUnauthorized = () => {}, credentials = 'omit' } = {}) {
  return async function request(method, path, body, { auth = true, handle401 = auth, timeoutMs = REQUEST_TIMEOUT_MS, signal } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) Object.assign(headers, extra(method));

    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    const onAbort = () => ctrl.abort();
    signal?.addEventListener('abort', onAbort);
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
        cache: 'no-store',
        credentials,
      });
    } catch (e) {
      if (signal?.aborted) throw new ApiError(0, 'ABORTED', ['The request was cancelled']);
      const timedOut = e && e.name === 'AbortError';
      throw new ApiError(0, timedOut ? 'TIMEOUT' : 'NETWORK',
        [timedOut ? 'The server took too long to answer' : 'Cannot reach the server — check the connection']);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }

    const text = await res.text().catch(() => '');
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch { /* e.g. an HTML page from a proxy */ }
    }
    if (res.ok) return json;

    const messages = Array.isArray(json?.error_messages) && json.error_messages.length
      ? json.error_messages.map(String)
      : [`${res.status} ${res.statusText || 'error'}`.trim()];
    const err = new ApiError(res.status, json?.error_code || `HTTP_${res.status}`, messages,
      json?.correlation_id || res.headers.get('Correlation-Id'));
    if (res.status === 429) err.retryAfterMs = (Number(res.headers.get('Retry-After')) || 1) * 1000;
    if (res.status === 401 && handle401) onUnauthorized(err);
    throw err;
  };
}

/**
 * Send the same request again on transient failures. Only for calls that are safe to
 * repeat (reads, or writes the server deduplicates, like finalize with its attempt_id).
 */
export async function withRetry(fn, attempts = 3) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ApiError) || !e.transient || i >= attempts) throw e;
      await sleep(e.retryAfterMs || 500 * 2 ** (i - 1));
    }
  }
}

/** RFC 4122 v4 id; crypto.randomUUID is missing on plain-http non-localhost origins. */
export function newId() {
  if (globalThis.crypto?.randomUUID) {
    try { return crypto.randomUUID(); } catch { /* insecure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `?a=1&b=x` from an object, leaving out empty values; '' when nothing is left. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
