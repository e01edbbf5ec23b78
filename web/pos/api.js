// Thin client for the Kassa device API (same origin as the app).
// Every failure becomes an ApiError carrying the Kustom error body's
// `error_messages`, so the UI has one thing to show whatever went wrong.

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{getToken: () => string|null, onUnauthorized: () => void}} hooks
 *   onUnauthorized runs on any 401 to an authenticated call: the token was
 *   revoked (device deleted) or never valid, so the app must pair again.
 */
export function createApi({ getToken, onUnauthorized }) {
  async function request(method, path, body, { auth = true } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = auth ? getToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;

    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
        cache: 'no-store',
      });
    } catch (e) {
      const timedOut = e && e.name === 'AbortError';
      throw new ApiError(0, timedOut ? 'TIMEOUT' : 'NETWORK',
        [timedOut ? 'The server took too long to answer' : 'Cannot reach the server — check the connection']);
    } finally {
      clearTimeout(timer);
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
    if (res.status === 401 && auth) onUnauthorized();
    if (res.status === 429) err.retryAfterMs = (Number(res.headers.get('Retry-After')) || 1) * 1000;
    throw err;
  }

  /**
   * Send the same request again on transient failures. Only for calls that
   * are safe to repeat: finalize carries its attempt_id, so the server answers
   * a repeat with the first result instead of charging twice.
   */
  async function requestWithRetry(method, path, body, attempts = 3) {
    for (let i = 1; ; i++) {
      try {
        return await request(method, path, body);
      } catch (e) {
        if (!(e instanceof ApiError) || !e.transient || i >= attempts) throw e;
        await sleep(e.retryAfterMs || 500 * 2 ** (i - 1));
      }
    }
  }

  const enc = encodeURIComponent;
  return {
    register: (enrollmentCode, name) => request('POST', '/ipp/v1/devices',
      { enrollment_code: enrollmentCode, platform: 'WEB', ...(name ? { name } : {}) }, { auth: false }),
    openSessions: () => request('GET', '/ipp/v1/device/sessions?status=CREATED,ACTIVE'),
    getSession: (id) => request('GET', `/ipp/v1/sessions/${enc(id)}`),
    choosePayment: (id, method) => request('PUT', `/ipp/v1/sessions/${enc(id)}/payment`, { payment_method: method }),
    cancel: (id) => request('PUT', `/ipp/v1/sessions/${enc(id)}/cancel`),
    finalize: (id, attemptId, payment) => requestWithRetry('POST', `/ipp/v1/sessions/${enc(id)}/finalize`,
      { attempt_id: attemptId, payment }),
  };
}

/** URL of the device push stream on this origin (ws: or wss: to match the page). */
export function streamUrl(token) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ipp/v1/device/stream?access_token=${encodeURIComponent(token)}`;
}

/** RFC 4122 v4 id; crypto.randomUUID is missing on plain-http non-localhost origins. */
export function newAttemptId() {
  if (globalThis.crypto?.randomUUID) {
    try { return crypto.randomUUID(); } catch { /* insecure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
