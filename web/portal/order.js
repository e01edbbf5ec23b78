// Orders (reached from a session): amounts, captures and refunds, and the money-moving
// actions, each behind a confirmation that names the amount. The panel is also part of the
// session page.

import {
  h, pageHeader, section, loading, errorBox, money, time, badge, table, swap, dialog, confirm,
  invalid, field, coalesce, copyButton, shortId, toast,
} from './ui.js';
import { href } from './routes.js';
import { decimalToMinor, minorToDecimal, currencyExponent, formatMoney, formatRate } from '../shared/format.js';

export function render(ctx, route, scope) {
  const lines = h('div', {}, loading());
  const panel = orderPanel(ctx, route.id, scope, {
    onLoad: (o) => {
      backLink.href = href('session', o.session_id);
      backLink.hidden = false;
      swap(lines, orderLines(o));
    },
    onError: (e) => swap(lines, errorBox(e)),
  });
  const backLink = h('a', { href: '#', hidden: true, class: 'btn btn-ghost', testid: 'order-session-link' }, 'Open its session');
  return h('div', { 'data-title': `Order …${shortId(route.id)}`, testid: 'page-order' },
    pageHeader(`Order …${shortId(route.id)}`, { back: { href: href('sessions'), label: 'Sessions' }, actions: [backLink] }),
    panel.el,
    section('Order lines', lines));
}

function orderLines(o) {
  return table({
    caption: 'Order lines',
    rows: o.order_lines,
    columns: [
      { label: 'Item', cell: (l) => l.name },
      { label: 'Qty', class: 'num', cell: (l) => String(l.quantity) },
      { label: 'Unit price', class: 'num', cell: (l) => money(l.unit_price, o.purchase_currency) },
      { label: 'Tax', class: 'num', cell: (l) => formatRate(l.tax_rate) || '0%' },
      { label: 'Total', class: 'num', cell: (l) => money(l.total_amount, o.purchase_currency) },
    ],
  });
}

/**
 * The order's state and actions. Re-reads itself after every action and on `reload()`.
 * @returns {{el: HTMLElement, reload: () => Promise<void>}}
 */
export function orderPanel(ctx, orderId, scope, { onLoad, onError } = {}) {
  const body = h('div', { class: 'order-body' }, loading());
  const actions = h('div', { class: 'card-actions' });
  const heading = h('h2', { id: `order-${orderId}` }, 'Order');
  const el = h('section', { class: 'card', 'aria-labelledby': heading.id, testid: 'order-panel' },
    h('div', { class: 'card-head' }, heading, actions), body);
  let lastJson = null;

  const reload = coalesce(async () => {
    let o;
    try {
      o = await ctx.api.orders.get(orderId);
    } catch (e) {
      if (scope.alive) { swap(body, errorBox(e, { retry: reload })); onError?.(e); }
      return;
    }
    if (!scope.alive) return;
    const json = JSON.stringify(o);
    if (json === lastJson) return;
    lastJson = json;
    draw(o);
    onLoad?.(o);
  });

  function draw(o) {
    const cur = o.purchase_currency;
    const refundable = o.captured_amount - o.refunded_amount;
    swap(actions, ctx.canChange ? [
      o.remaining_authorized_amount > 0
        ? h('button', { type: 'button', class: 'btn btn-primary btn-sm', testid: 'order-capture', 'data-fk': 'capture', onclick: () => move(o, 'capture', o.remaining_authorized_amount) }, 'Capture…') : null,
      refundable > 0
        ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', testid: 'order-refund', 'data-fk': 'refund', onclick: () => move(o, 'refund', refundable) }, 'Refund…') : null,
      o.captured_amount === 0 && o.status === 'AUTHORIZED'
        ? h('button', { type: 'button', class: 'btn btn-danger-ghost btn-sm', testid: 'order-cancel', 'data-fk': 'cancel', onclick: () => cancelOrder(o) }, 'Cancel order…') : null,
    ] : []);
    const ops = [
      ...o.captures.map((c) => ({ ...c, kind: 'Capture' })),
      ...o.refunds.map((r) => ({ ...r, kind: 'Refund' })),
    ].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
    swap(body,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Order'), h('dd', { class: 'id' }, h('a', { href: href('order', o.order_id), testid: 'order-link', class: 'url' }, o.order_id), copyButton(o.order_id, 'Copy order id')),
        h('dt', {}, 'Status'), h('dd', {}, badge(o.status, null, { testid: 'order-status' })),
        h('dt', {}, 'Amount'), h('dd', {}, money(o.order_amount, cur)),
        h('dt', {}, 'Captured'), h('dd', {}, money(o.captured_amount, cur, { testid: 'order-captured' })),
        h('dt', {}, 'Refunded'), h('dd', {}, money(o.refunded_amount, cur, { testid: 'order-refunded' })),
        h('dt', {}, 'Still authorized'), h('dd', {}, money(o.remaining_authorized_amount, cur)),
        h('dt', {}, 'Created'), h('dd', {}, time(o.created_at))),
      ops.length
        ? table({
          caption: 'Captures and refunds', testid: 'order-operations',
          rows: ops,
          columns: [
            { label: 'Operation', cell: (op) => op.kind },
            { label: 'Amount', class: 'num', cell: (op) => money(op.kind === 'Refund' ? -op.amount : op.amount, cur) },
            { label: 'When', cell: (op) => time(op.created_at, { seconds: true }) },
            { label: 'Reference', cell: (op) => op.processor_reference || op.reference || '—' },
          ],
        })
        : h('p', { class: 'muted small' }, 'No captures or refunds yet.'));
  }

  async function move(o, kind, max) {
    const cur = o.purchase_currency;
    const exp = currencyExponent(cur);
    const amount = h('input', { name: 'amount', inputmode: 'decimal', autocomplete: 'off', value: minorToDecimal(max, exp), testid: 'order-amount', required: true });
    const verb = kind === 'capture' ? 'Capture' : 'Refund';
    const done = await dialog({
      title: `${verb} money`,
      testid: `${kind}-dialog`,
      danger: kind === 'refund',
      submitLabel: verb,
      body: [
        h('p', {}, kind === 'capture'
          ? `Capture up to ${formatMoney(max, cur)} of the authorized amount. Funds move to you.`
          : `Refund up to ${formatMoney(max, cur)} to the customer's card. This cannot be undone.`),
        field(`Amount (${cur})`, amount),
      ],
      onSubmit: async () => {
        const minor = decimalToMinor(amount.value, cur);
        if (minor == null || minor <= 0) invalid(amount, `Enter an amount in ${cur}, such as ${minorToDecimal(max, exp)}.`);
        if (minor > max) invalid(amount, `At most ${formatMoney(max, cur)}.`);
        await (kind === 'capture' ? ctx.api.orders.capture(o.order_id, minor) : ctx.api.orders.refund(o.order_id, minor));
        return minor;
      },
    });
    if (done) {
      toast([`${verb === 'Capture' ? 'Captured' : 'Refunded'} ${formatMoney(done, cur)}`], 'ok');
      await reload();
    }
  }

  async function cancelOrder(o) {
    const done = await confirm({
      title: 'Cancel this order?',
      testid: 'cancel-order-dialog',
      text: `Releases the ${formatMoney(o.remaining_authorized_amount, o.purchase_currency)} authorization. Nothing was captured, so nothing is charged. This cannot be undone.`,
      confirmLabel: 'Cancel order',
      action: () => ctx.api.orders.cancel(o.order_id),
    });
    if (done) { toast(['Order cancelled'], 'ok'); await reload(); }
  }

  reload();
  return { el, reload };
}
