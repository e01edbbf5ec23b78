// Thin client for the Kassa device API (same origin as the app), on the request core it
// shares with the merchant portal (../shared/http.js): every failure is an ApiError with the
// Kustom error body's `error_messages`, so the UI has one thing to show whatever went wrong.

import { ApiError, createRequester, withRetry, newId } from '../shared/http.js';

export { ApiError };

/**
 * @param {{getToken: () => string|null, onUnauthorized: () => void}} hooks
 *   onUnauthorized runs on any 401 to an authenticated call: the token was
 *   revoked (device deleted) or never valid, so the app must pair again.
 */
export function createApi({ getToken, onUnauthorized }) {
  const request = createRequester({
    headers: () => {
      const token = getToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    onUnauthorized: () => onUnauthorized(),
  });

  /**
   * Send the same request again on transient failures. Only for calls that
   * are safe to repeat: finalize carries its attempt_id, so the server answers
   * a repeat with the first result instead of charging twice.
   */
  const requestWithRetry = (method, path, body) => withRetry(() => request(method, path, body));

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

/** A fresh attempt id for finalize (RFC 4122 v4). */
export const newAttemptId = newId;
