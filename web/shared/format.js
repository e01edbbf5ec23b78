// Formatting and human labels, shared by the web POS and the merchant portal. Amounts on
// the wire are integer minor units;
// the number of decimals comes from Intl so JPY (0), EUR (2), KWD (3)… all
// render correctly without a hand-kept table.

const locale = (typeof navigator !== 'undefined' && navigator.language) || undefined;
const formatters = new Map();

function currencyFormatter(currency) {
  let f = formatters.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency });
    formatters.set(currency, f);
  }
  return f;
}

/** Minor-unit exponent of a currency (2 for SEK, 0 for JPY). */
export function currencyExponent(currency) {
  try {
    return currencyFormatter(currency).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/**
 * Decimal string for an integer amount of minor units, built with string
 * operations (not division) so large amounts never pick up float error.
 */
export function minorToDecimal(minor, exponent) {
  const n = BigInt(Math.trunc(Number(minor) || 0));
  const neg = n < 0n;
  let digits = (neg ? -n : n).toString();
  if (exponent > 0) {
    digits = digits.padStart(exponent + 1, '0');
    digits = `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }
  return (neg ? '-' : '') + digits;
}

/**
 * The inverse of minorToDecimal for what a person types ("12.5", "1 234,50", "100"): an
 * integer number of minor units, or null when the text is not an amount in that currency
 * (too many decimals, letters, empty). Parsed as a string, so 0.1 + 0.2 troubles never arise.
 */
export function decimalToMinor(text, currency) {
  const exp = currencyExponent(currency);
  let s = String(text ?? '').trim().replace(/[\s\u00a0\u202f']/g, '');
  if (!s) return null;
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  if (!/^[\d.,]+$/.test(s)) return null;
  // The last "." or "," is the decimal mark when 1..exp digits follow it, except that three
  // digits in a currency with fewer decimals mean a thousands group ("1,234" dollars).
  const last = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  let int = s, frac = '';
  if (last >= 0) {
    const tail = s.slice(last + 1);
    if (tail.length >= 1 && tail.length <= exp && (tail.length !== 3 || exp === 3)) {
      int = s.slice(0, last);
      frac = tail;
    } else if (tail.length !== 3) {
      return null;
    }
  }
  if (!/^(\d+|\d{1,3}(?:[.,]\d{3})+)$/.test(int)) return null;
  const digits = int.replace(/[.,]/g, '');
  const minor = BigInt(digits) * 10n ** BigInt(exp) + BigInt(frac.padEnd(exp, '0') || '0');
  const n = Number(neg ? -minor : minor);
  return Number.isSafeInteger(n) ? n : null;
}

export function formatMoney(minor, currency) {
  const exp = currencyExponent(currency);
  const decimal = minorToDecimal(minor, exp);
  try {
    // Intl accepts decimal strings exactly (ES2023); older engines coerce to Number.
    return currencyFormatter(currency).format(decimal);
  } catch {
    return `${decimal} ${currency || ''}`.trim();
  }
}

export const PAYMENT_METHODS = [
  { id: 'CARD_TAP', label: 'Card', hint: 'Tap, insert or swipe' },
  { id: 'KLARNA', label: 'Klarna', hint: 'Pay later or in parts' },
  { id: 'SWISH', label: 'Swish', hint: 'Mobile payment (SE)' },
  { id: 'VIPPS', label: 'Vipps', hint: 'Mobile payment (NO)' },
];

export function methodLabel(id) {
  return PAYMENT_METHODS.find((m) => m.id === id)?.label || id || '';
}

// Simulated processor outcomes, in the order the clerk sees them.
export const DECLINES = [
  'INSUFFICIENT_FUNDS',
  'DECLINED_GENERIC',
  'EXPIRED_CARD',
  'INCORRECT_CVC',
  'LOST_CARD',
  'STOLEN_CARD',
  'PROCESSING_ERROR',
  'INCORRECT_NUMBER',
  'CARD_VELOCITY_EXCEEDED',
];

const REASONS = {
  INSUFFICIENT_FUNDS: 'Insufficient funds',
  DECLINED_GENERIC: 'Card declined',
  EXPIRED_CARD: 'Card expired',
  INCORRECT_CVC: 'Incorrect CVC',
  LOST_CARD: 'Card reported lost',
  STOLEN_CARD: 'Card reported stolen',
  PROCESSING_ERROR: 'Processing error',
  INCORRECT_NUMBER: 'Incorrect card number',
  CARD_VELOCITY_EXCEEDED: 'Card limit exceeded',
};

/** Human text for a failure_reason; unknown codes degrade to readable words. */
export function reasonLabel(code) {
  if (!code) return 'Payment declined';
  if (REASONS[code]) return REASONS[code];
  const words = String(code).toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** Date and time to the second, in the browser's zone: for timelines and logs. */
export function formatTimestamp(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}

/** "just now", "5 min ago", "3 h ago", else the date: how recent a last-seen time is. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return formatDateTime(iso);
}

/** "4:05" for a number of milliseconds (never negative). */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

/** Basis points → "25%" / "12.5%". */
export function formatRate(bp) {
  if (!bp) return '';
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(bp / 100)}%`;
}

/**
 * Enrollment codes are typed by hand: accept any case, spaces, with or without
 * the dash. A 10-character code gets the canonical `XXXXX-XXXXX` form.
 */
export function normalizeEnrollmentCode(raw) {
  const compact = String(raw || '').toUpperCase().replace(/[\s-]+/g, '');
  if (/^[A-Z0-9]{10}$/.test(compact)) return `${compact.slice(0, 5)}-${compact.slice(5)}`;
  return String(raw || '').toUpperCase().replace(/\s+/g, '');
}
