// Screen builders: pure functions from state to DOM. They never call the API;
// user intents go back to app.js through the `act` callbacks, which keeps all
// side effects (and their error handling) in one place.

import {
  formatMoney, formatDateTime, formatRate, methodLabel, reasonLabel,
  PAYMENT_METHODS, DECLINES,
} from '../shared/format.js';
import { qrSvg } from '../shared/qr.js';
import { h } from '../shared/dom.js';

export { h };

// Static inline icons (no external assets).
const ICON = {
  contactless: '<svg viewBox="0 0 64 64" aria-hidden="true"><g fill="none" stroke="currentColor" stroke-width="4" stroke-linecap="round"><path class="w1" d="M22 22c5 6 5 14 0 20"/><path class="w2" d="M31 16c8 9 8 23 0 32"/><path class="w3" d="M40 10c11 12 11 32 0 44"/></g></svg>',
  check: '<svg viewBox="0 0 52 52" aria-hidden="true"><circle cx="26" cy="26" r="24" fill="none" stroke="currentColor" stroke-width="4"/><path class="check-path" d="M15 27l7 7 15-16" fill="none" stroke="currentColor" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  cross: '<svg viewBox="0 0 52 52" aria-hidden="true"><circle cx="26" cy="26" r="24" fill="none" stroke="currentColor" stroke-width="4"/><path d="M18 18l16 16M34 18L18 34" fill="none" stroke="currentColor" stroke-width="5" stroke-linecap="round"/></svg>',
  clock: '<svg viewBox="0 0 52 52" aria-hidden="true"><circle cx="26" cy="26" r="24" fill="none" stroke="currentColor" stroke-width="4"/><path d="M26 13v14l9 6" fill="none" stroke="currentColor" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/></svg>',
};
const icon = (name, cls = '') => h('span', { class: `icon ${cls}`, html: ICON[name] });

/** A button that shows a spinner while its action is in flight and is disabled while any is. */
function actionButton(state, key, attrs, ...children) {
  const busy = state.busy === key;
  return h('button', {
    type: 'button',
    ...attrs,
    class: `${attrs.class || ''}${busy ? ' is-busy' : ''}`,
    disabled: !!state.busy || !!attrs.disabled,
    'aria-busy': busy ? 'true' : null,
  }, ...children);
}

// Filled in and kept ticking by app.js; `urgent` turns it red in the last 30 s.
const countdown = (iso, prefix, { urgent = true, seconds = false } = {}) => iso
  ? h('span', {
    class: 'countdown', 'data-countdown-to': iso, 'data-prefix': prefix,
    'data-urgent': urgent ? '1' : null, 'data-seconds': seconds ? '1' : null,
  }, '')
  : null;

// ---------------------------------------------------------------- pairing

export function pairScreen({ notice, defaultName }, act) {
  const code = h('input', {
    id: 'enroll-code', testid: 'enroll-code', name: 'enrollment_code', class: 'code-input',
    autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', inputmode: 'text',
    placeholder: 'ABCDE-FGHJK', maxlength: '32', required: true, 'aria-describedby': 'pair-errors',
    oninput: (e) => {
      // Upper-case as the clerk types, keeping the caret where it was.
      const el = e.target, pos = el.selectionStart;
      el.value = el.value.toUpperCase();
      el.setSelectionRange(pos, pos);
    },
  });
  const name = h('input', {
    id: 'enroll-name', testid: 'enroll-name', name: 'name', maxlength: '100',
    placeholder: 'e.g. Front counter', autocomplete: 'off', value: defaultName || '',
  });
  const errors = h('div', { id: 'pair-errors', class: 'form-errors', testid: 'pair-errors', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-lg', testid: 'enroll-submit' }, 'Pair device');
  const form = h('form', {
    class: 'card pair-card', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); act.pair(code.value, name.value.trim(), { submit, errors, code }); },
  },
  h('div', { class: 'brand-mark' }, 'K'),
  h('h1', {}, 'Pair this POS'),
  h('p', { class: 'muted' }, 'Scan the pairing QR code in the Kassa merchant portal (Devices → Pair a device), or enter its enrollment code.'),
  notice ? h('p', { class: 'notice', testid: 'pair-notice' }, notice) : null,
  h('label', { for: 'enroll-code' }, 'Enrollment code'), code,
  h('label', { for: 'enroll-name' }, 'Device name ', h('span', { class: 'muted' }, '(optional)')), name,
  errors, submit);
  setTimeout(() => code.focus(), 0);
  return h('section', { class: 'screen screen-pair', testid: 'screen-pair' }, form);
}

// ---------------------------------------------------------------- waiting

export function waitingScreen(state) {
  const live = state.conn === 'online';
  return h('section', { class: 'screen screen-waiting', testid: 'screen-waiting' },
    h('div', { class: 'idle' },
      h('div', { class: `idle-pulse${live ? '' : ' is-offline'}` }, icon('contactless')),
      h('h1', {}, 'Ready for payment'),
      h('p', { class: 'muted' }, live
        ? 'Waiting for the next sale from the register…'
        : 'Reconnecting… new sales are still picked up every few seconds.'),
      h('p', { class: 'device-chip', testid: 'device-name' }, state.device?.name || 'Web POS')));
}

// ---------------------------------------------------------------- cart

function itemRows(s) {
  const cur = s.purchase_currency;
  return (s.order_items || []).map((it) => {
    const qty = it.quantity ?? 1;
    const negative = it.type === 'discount' || Number(it.total_amount) < 0;
    const sub = [`${qty} × ${formatMoney(it.unit_price, cur)}`];
    if (it.tax_rate) sub.push(`${formatRate(it.tax_rate)} tax`);
    return h('li', { class: `line${negative ? ' line-discount' : ''}` },
      h('div', { class: 'line-main' },
        h('span', { class: 'line-name' }, it.name || '(item)'),
        h('span', { class: 'line-sub muted' }, sub.join(' · ')),
        it.total_discount_amount > 0
          ? h('span', { class: 'line-sub line-disc' }, `Discount −${formatMoney(it.total_discount_amount, cur)}`)
          : null),
      h('span', { class: 'line-total amount' }, formatMoney(it.total_amount, cur)));
  });
}

function totals(s, testid) {
  const cur = s.purchase_currency;
  return h('dl', { class: 'totals' },
    s.order_tax_amount != null ? [h('dt', {}, 'Tax (included)'), h('dd', { class: 'amount' }, formatMoney(s.order_tax_amount, cur))] : null,
    h('dt', { class: 'grand' }, 'Total'),
    h('dd', { class: 'grand amount', testid }, formatMoney(s.order_amount, cur)));
}

export function cartScreen(s, state, act) {
  const changing = s.status === 'ACTIVE';
  const methods = PAYMENT_METHODS.map((m) => {
    const noCard = state.live && m.id === 'CARD_TAP';
    return actionButton(state, `payment:${m.id}`, {
      class: `btn method method-${m.id.toLowerCase()}${s.payment_method === m.id ? ' is-current' : ''}`,
      testid: `method-${m.id}`,
      disabled: noCard || undefined,
      onclick: () => act.choosePayment(s, m.id),
    }, h('span', { class: 'method-mark', 'aria-hidden': 'true' }, m.label.charAt(0)),
    h('span', { class: 'method-text' }, h('strong', {}, m.label),
      h('small', {}, noCard ? 'Needs the Kassa POS app or a card reader' : m.hint)));
  });

  return h('section', { class: 'screen screen-cart', testid: 'screen-cart' },
    h('div', { class: 'cart-items card' },
      h('div', { class: 'card-head' },
        h('h2', {}, 'Order'),
        s.merchant_reference1 ? h('span', { class: 'muted ref' }, `Ref ${s.merchant_reference1}`) : null,
        countdown(s.expires_at, 'Expires in ')),
      h('ul', { class: 'lines', testid: 'cart-items' }, itemRows(s))),
    h('div', { class: 'cart-pay card' },
      totals(s, 'cart-total'),
      h('h2', { class: 'pay-title' }, changing ? 'Change payment method' : 'Choose payment method'),
      h('div', { class: 'methods' }, methods),
      h('div', { class: 'actions' },
        changing ? h('button', { type: 'button', class: 'btn btn-ghost', testid: 'back-to-tap', onclick: act.stopChangingMethod, disabled: !!state.busy }, 'Back') : null,
        actionButton(state, 'cancel', { class: 'btn btn-danger-ghost', testid: 'cancel-session', onclick: () => act.cancel(s) }, 'Cancel sale'))));
}

// ---------------------------------------------------------------- tap / collect

export function tapScreen(s, state, act) {
  const cur = s.purchase_currency;
  const failed = s.failure_reason && (s.attempts || 0) > (state.dismissedFailure[s.session_id] || 0);
  const card = s.payment_method === 'CARD_TAP' || !s.payment_method;
  const prompt = failed
    ? h('div', { class: 'failure', role: 'alert', 'data-mark': `${s.session_id}:${s.attempts}` },
      icon('cross', 'failure-icon'),
      h('p', { class: 'failure-text', testid: 'failure-message' }, `Payment failed — ${reasonLabel(s.failure_reason)}`),
      h('p', { class: 'muted', testid: 'attempts' }, `${s.attempts} ${s.attempts === 1 ? 'attempt' : 'attempts'} so far`),
      h('button', { type: 'button', class: 'btn btn-primary btn-lg', testid: 'retry', onclick: () => act.retry(s), disabled: !!state.busy }, 'Retry'))
    : h('div', { class: 'tap-prompt' },
      h('div', { class: 'tap-target' }, icon('contactless')),
      h('p', { class: 'tap-text' }, card ? 'Tap card on the reader' : `Waiting for ${methodLabel(s.payment_method)} payment`),
      h('p', { class: 'muted' }, card ? 'Contactless card or phone' : 'Ask the customer to approve in their app'));

  if (state.live && card) return liveCardScreen(s, state, act);

  const outcomes = h('div', { class: 'sim card', testid: 'simulated-card' },
    h('h2', {}, 'Simulated card ', h('span', { class: 'badge' }, 'Playground')),
    actionButton(state, 'finalize:SUCCESS', {
      class: 'btn btn-success btn-lg', testid: 'outcome-SUCCESS', onclick: () => act.finalize(s, 'SUCCESS'),
    }, 'Approve'),
    h('div', { class: 'declines' }, DECLINES.map((d) => actionButton(state, `finalize:${d}`, {
      class: 'btn btn-decline', testid: `outcome-${d}`, onclick: () => act.finalize(s, d),
    }, reasonLabel(d)))));

  return h('section', { class: 'screen screen-tap', testid: 'screen-tap' },
    h('div', { class: 'tap-main card' },
      h('p', { class: 'muted method-line' }, methodLabel(s.payment_method) || 'Payment', countdown(s.expires_at, ' · Expires in ')),
      h('p', { class: 'big-amount amount', testid: 'tap-amount' }, formatMoney(s.order_amount, cur)),
      prompt,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', testid: 'change-method', onclick: act.startChangingMethod, disabled: !!state.busy }, 'Change method'),
        actionButton(state, 'cancel', { class: 'btn btn-danger-ghost', testid: 'cancel-session', onclick: () => act.cancel(s) }, 'Cancel sale'))),
    outcomes);
}

// In live mode a card is taken by the native POS app (Tap to Pay) or a card reader,
// never by this page: say so, and leave the clerk the actions that still work.
function liveCardScreen(s, state, act) {
  return h('section', { class: 'screen screen-tap', testid: 'screen-tap' },
    h('div', { class: 'tap-main card' },
      h('p', { class: 'big-amount amount', testid: 'tap-amount' }, formatMoney(s.order_amount, s.purchase_currency)),
      h('div', { class: 'failure', role: 'alert', testid: 'live-card-notice' },
        h('p', { class: 'failure-text' }, 'This web POS cannot collect cards'),
        h('p', { class: 'muted' }, 'Take card payments with the Kassa POS app (Tap to Pay) or a card reader, or choose another method.')),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', testid: 'change-method', onclick: act.startChangingMethod, disabled: !!state.busy }, 'Change method'),
        actionButton(state, 'cancel', { class: 'btn btn-danger-ghost', testid: 'cancel-session', onclick: () => act.cancel(s) }, 'Cancel sale'))));
}

// ---------------------------------------------------------------- receipt

export function receiptScreen(s, act) {
  const cur = s.purchase_currency;
  const receiptText = `kassa:receipt:${s.order_id || s.session_id}`;
  let qr;
  try {
    qr = h('div', { class: 'qr', testid: 'receipt-qr', 'data-value': receiptText, html: qrSvg(receiptText, { ecl: 'M', title: receiptText }) });
  } catch {
    qr = h('div', { class: 'qr qr-missing', testid: 'receipt-qr', 'data-value': receiptText }, receiptText);
  }
  const count = (s.order_items || []).length;
  // Summary first (what the clerk and customer need at a glance, and the
  // button to move on); the itemised list follows, scrolled to on a phone.
  return h('section', { class: 'screen screen-receipt', testid: 'screen-receipt' },
    h('div', { class: 'receipt card' },
      h('div', { class: 'result-icon ok' }, icon('check')),
      h('h1', {}, 'Payment approved'),
      h('p', { class: 'big-amount amount', testid: 'receipt-amount' }, formatMoney(s.order_amount, cur)),
      h('p', { class: 'muted' }, [methodLabel(s.payment_method), formatDateTime(s.purchase_completed_at || s.updated_at)].filter(Boolean).join(' · ')),
      qr,
      h('p', { class: 'order-id' }, 'Order ', h('code', { testid: 'receipt-order-id' }, s.order_id || '—')),
      h('button', { type: 'button', class: 'btn btn-primary btn-lg', testid: 'done', onclick: act.done }, 'New sale')),
    h('div', { class: 'receipt-items card' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Items'), h('span', { class: 'muted' }, `${count} ${count === 1 ? 'line' : 'lines'}`)),
      h('ul', { class: 'lines compact' }, itemRows(s)),
      totals(s, 'receipt-total')));
}

// ---------------------------------------------------------------- terminal

export function terminalScreen(s, state, act) {
  const cur = s.purchase_currency;
  const byUs = state.cancelledHere.has(s.session_id);
  const view = {
    CANCELLED: { icon: 'cross', cls: 'neutral', title: byUs ? 'Cancelled' : 'Cancelled by merchant', sub: 'No payment was taken.' },
    EXPIRED: { icon: 'clock', cls: 'neutral', title: 'Session expired', sub: 'The sale timed out before payment.' },
    FAILED: {
      icon: 'cross', cls: 'bad', title: 'Payment failed — too many attempts',
      sub: s.failure_reason ? `Last decline: ${reasonLabel(s.failure_reason)}` : 'No payment was taken.',
    },
  }[s.status] || { icon: 'cross', cls: 'neutral', title: `Session ${String(s.status).toLowerCase()}`, sub: '' };
  return h('section', { class: 'screen screen-terminal', testid: 'screen-terminal', 'data-status': s.status },
    h('div', { class: 'card terminal' },
      h('div', { class: `result-icon ${view.cls}` }, icon(view.icon)),
      h('h1', { testid: 'terminal-title' }, view.title),
      h('p', { class: 'big-amount amount muted-amount' }, formatMoney(s.order_amount, cur)),
      h('p', { class: 'muted' }, view.sub),
      h('button', { type: 'button', class: 'btn btn-primary btn-lg', testid: 'done', onclick: act.done }, 'Done'),
      state.autoReturnAt ? h('p', { class: 'muted small' }, countdown(new Date(state.autoReturnAt).toISOString(), 'Returning in ', { urgent: false, seconds: true })) : null));
}

export { icon };

// ---------------------------------------------------------------- settings

/** The device's settings dialog content: who it is, and forgetting the pairing (confirmed). */
export function settingsForm(d, origin, onForget) {
  const confirmRow = h('div', { class: 'confirm-row', hidden: true },
    h('p', {}, 'Forget this device? You will need a new enrollment code to pair again.'),
    h('button', { type: 'button', class: 'btn btn-danger', testid: 'forget-confirm', onclick: onForget }, 'Forget'),
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => { confirmRow.hidden = true; } }, 'Keep'));
  return h('form', { method: 'dialog', class: 'settings' },
    h('h2', {}, 'Device'),
    h('dl', {},
      h('dt', {}, 'Name'), h('dd', {}, d.name),
      h('dt', {}, 'Device id'), h('dd', {}, h('code', {}, d.id)),
      h('dt', {}, 'Server'), h('dd', {}, origin),
      h('dt', {}, 'Paired'), h('dd', {}, d.paired_at ? new Date(d.paired_at).toLocaleString() : '—')),
    h('button', { type: 'button', class: 'link-danger', testid: 'forget-device', onclick: () => { confirmRow.hidden = false; } }, 'Forget this device'),
    confirmRow,
    h('div', { class: 'actions' }, h('button', { class: 'btn btn-primary', value: 'close', testid: 'settings-close' }, 'Close')));
}
