// Where the POS keeps its pairing (this browser's localStorage) and how it reads a pairing
// link from the merchant portal's QR code. No DOM and no state of the app's own: app.js
// decides what to do with what these return.

import { normalizeEnrollmentCode } from '../shared/format.js';

export const STORAGE_KEY = 'kassa.pos.device';

/** The saved pairing, or null when there is none (or it is unreadable). */
export function loadDevice(storage = globalThis.localStorage) {
  try {
    const d = JSON.parse(storage.getItem(STORAGE_KEY) || 'null');
    return d && d.id && d.token ? d : null;
  } catch {
    return null;
  }
}

/** Saves the pairing; false when the browser refuses (private browsing, full storage). */
export function saveDevice(device, storage = globalThis.localStorage) {
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(device));
    return true;
  } catch {
    return false;
  }
}

export function forgetDevice(storage = globalThis.localStorage) {
  try { storage.removeItem(STORAGE_KEY); } catch { /* nothing to remove */ }
}

/**
 * The enrollment code of a pairing link (`/pos#enroll=ABCDE-FGHJK`), or null. The code leaves
 * the address bar at once: it is single use, and a reload, a bookmark or a screenshot should
 * not carry it.
 */
export function takeEnrollLink(loc = globalThis.location, hist = globalThis.history) {
  const m = /(?:^#|&)enroll=([^&]*)/.exec(loc.hash);
  if (!m) return null;
  hist.replaceState(null, '', loc.pathname + loc.search);
  let raw = m[1];
  try { raw = decodeURIComponent(raw); } catch { /* keep it as it came */ }
  return normalizeEnrollmentCode(raw) || null;
}
