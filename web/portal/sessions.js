// Sessions: the list with filters (kept in the address, so a filtered view can be bookmarked),
// live through the event feed, and in playground a test session made from the page.

import {
  h, pageHeader, section, loading, emptyState, errorBox, money, time, badge, table, swap, pager,
  field, select, dialog, invalid, coalesce, shortId,
} from './ui.js';
import { href } from './routes.js';
import { decimalToMinor, minorToDecimal, currencyExponent, reasonLabel } from '../shared/format.js';

export const STATUSES = ['CREATED', 'ACTIVE', 'FINALIZED', 'CANCELLED', 'EXPIRED', 'FAILED'];
const CURRENCIES = ['SEK', 'EUR', 'NOK', 'DKK', 'USD', 'GBP', 'CHF', 'PLN', 'JPY'];
const PAGE_SIZE = 20;

export function render(ctx, route, scope) {
  const q = { ...route.query };
  const results = h('div', { class: 'results', 'aria-busy': 'true' }, loading());
  const names = { devices: new Map(), locations: new Map() };
  const deviceSelect = select('device_id', [['', 'Any device']], q.device_id, { testid: 'filter-device' });
  const locationSelect = select('location_id', [['', 'Any location']], q.location_id, { testid: 'filter-location' });
  const statusSelect = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s.charAt(0) + s.slice(1).toLowerCase()])],
    q.status, { testid: 'filter-status' });
  const reference = h('input', { name: 'merchant_reference1', type: 'search', value: q.merchant_reference1 || '', autocomplete: 'off', testid: 'filter-reference' });
  const after = h('input', { name: 'created_after', type: 'datetime-local', value: q.created_after || '', testid: 'filter-after' });

  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter sessions', onsubmit: (e) => { e.preventDefault(); apply(); } },
    field('Status', statusSelect), field('Device', deviceSelect), field('Location', locationSelect),
    field('Reference', reference), field('Created after', after),
    h('div', { class: 'filters-actions' },
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', testid: 'filter-clear', onclick: clear }, 'Clear filters')));
  for (const el of [statusSelect, deviceSelect, locationSelect, after]) el.addEventListener('change', () => apply());
  let typing;
  reference.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(apply, 350); });

  function apply(page = 0) {
    Object.assign(q, {
      status: statusSelect.value, device_id: deviceSelect.value, location_id: locationSelect.value,
      merchant_reference1: reference.value.trim(), created_after: after.value, page: page || '',
    });
    ctx.replaceQuery(href('sessions', null, q));
    reload();
  }

  function clear() {
    for (const el of [statusSelect, deviceSelect, locationSelect]) el.value = '';
    reference.value = '';
    after.value = '';
    apply();
  }

  const filtered = () => !!(q.status || q.device_id || q.location_id || q.merchant_reference1 || q.created_after);
  const seen = new Map(); // session id → status last drawn (to flash what changed)
  let lastJson = null;

  const reload = coalesce(async () => {
    let page;
    try {
      const createdAfter = q.created_after ? new Date(q.created_after) : null;
      page = await ctx.api.sessions.list({
        status: q.status, device_id: q.device_id, location_id: q.location_id,
        merchant_reference1: q.merchant_reference1,
        created_after: createdAfter && !Number.isNaN(createdAfter.getTime()) ? createdAfter.toISOString() : '',
        page_number: Number(q.page) || 0, page_size: PAGE_SIZE,
      });
    } catch (e) {
      if (scope.alive) swap(results, errorBox(e, { retry: reload }));
      results.removeAttribute('aria-busy');
      return;
    }
    if (!scope.alive) return;
    results.removeAttribute('aria-busy');
    const json = JSON.stringify([page, [...names.devices]]);
    if (json === lastJson) return;
    lastJson = json;
    draw(page);
  });

  function draw(page) {
    if (!page.content.length) {
      swap(results, filtered()
        ? emptyState('No sessions match these filters', 'Change or clear the filters to see more.',
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: clear }, 'Clear filters'))
        : emptyState('No sessions yet',
          ctx.playground
            ? 'Create a test session here (it needs a device: pair the web POS or add a simulated device), or send POST /ipp/v1/sessions from your backend.'
            : 'Sessions appear here as soon as your backend creates them with POST /ipp/v1/sessions.',
          ctx.playground && ctx.canChange ? newButton() : h('a', { href: href('devices'), class: 'btn btn-ghost' }, 'Go to devices')));
      return;
    }
    const changed = new Set();
    for (const s of page.content) {
      if (seen.has(s.session_id) && seen.get(s.session_id) !== s.status) changed.add(s.session_id);
      seen.set(s.session_id, s.status);
    }
    const t = table({
      caption: 'Sessions, newest first',
      testid: 'sessions-table',
      rowTestid: 'session-row',
      key: (s) => s.session_id,
      rows: page.content,
      columns: [
        { label: 'Session', cell: (s) => h('a', { href: href('session', s.session_id), 'data-fk': `open:${s.session_id}`, testid: 'session-link', class: 'row-link' },
          s.merchant_reference1 || `Session …${shortId(s.session_id)}`) },
        { label: 'Status', cell: (s) => h('span', { class: 'status-cell' }, badge(s.status, null, { testid: 'session-status' }),
          s.failure_reason && s.status !== 'FINALIZED' ? h('span', { class: 'small muted' }, reasonLabel(s.failure_reason)) : null) },
        { label: 'Amount', class: 'num', cell: (s) => money(s.order_amount, s.purchase_currency) },
        { label: 'Device', cell: (s) => names.devices.get(s.device_id) ?? `…${shortId(s.device_id)}` },
        { label: 'Created', cell: (s) => time(s.created_at) },
      ],
    });
    for (const tr of t.querySelectorAll('tbody tr')) {
      tr.dataset.status = seen.get(tr.dataset.key);
      if (changed.has(tr.dataset.key)) tr.classList.add('flash');
    }
    swap(results, t, pager(page, (n) => apply(n)));
  }

  const newButton = () => h('button', { type: 'button', class: 'btn btn-primary', testid: 'new-test-session', onclick: () => newTestSession(ctx, names) }, 'New test session');

  // Names for the table and the filters; a failure leaves ids in their place.
  (async () => {
    const [devs, locs] = await Promise.all([ctx.api.devices.all().catch(() => []), ctx.api.locations.all().catch(() => [])]);
    if (!scope.alive) return;
    for (const d of devs) names.devices.set(d.id, d.name || `Device …${shortId(d.id)}`);
    for (const l of locs) names.locations.set(l.id, l.name);
    names.deviceList = devs;
    deviceSelect.append(...devs.map((d) => h('option', { value: d.id, selected: d.id === q.device_id ? true : null }, names.devices.get(d.id))));
    locationSelect.append(...locs.map((l) => h('option', { value: l.id, selected: l.id === q.location_id ? true : null }, l.name)));
    reload();
  })();
  reload();
  scope.onFeed(() => reload());

  return h('div', { 'data-title': 'Sessions', testid: 'page-sessions' },
    pageHeader('Sessions', {
      subtitle: 'Payment sessions, newest first. Updates arrive live.',
      actions: ctx.playground && ctx.canChange ? [newButton()] : [],
    }),
    section('Filters', filters, { testid: 'filters' }),
    h('section', { class: 'card', 'aria-label': 'Results' }, results));
}

/** Playground: a one-line cart for a device, then straight to its page to simulate the tap. */
export async function newTestSession(ctx, names = {}) {
  let devices = names.deviceList;
  if (!devices) devices = await ctx.api.devices.all().catch(() => []);
  const sorted = [...devices].sort((a, b) => Number(b.online) - Number(a.online));
  const device = select('device_id', sorted.map((d) => [d.id,
    `${d.name || `Device …${shortId(d.id)}`}${d.online ? ' (online)' : d.metadata?.simulated === 'true' ? ' (simulated)' : ''}`]),
  sorted[0]?.id, { testid: 'test-device', required: true });
  const currency = select('currency', CURRENCIES.map((c) => [c, c]), 'SEK', { testid: 'test-currency' });
  const amount = h('input', { name: 'amount', inputmode: 'decimal', autocomplete: 'off', value: minorToDecimal(12500, 2), testid: 'test-amount', required: true });
  const item = h('input', { name: 'item', value: 'Test item', maxlength: '255', testid: 'test-item' });
  const ref = h('input', { name: 'reference', value: `test-${Date.now().toString(36)}`, maxlength: '255', testid: 'test-reference' });
  // The suggested amount follows the currency's decimals until the merchant types one.
  let typed = false;
  amount.addEventListener('input', () => { typed = true; });
  currency.addEventListener('change', () => {
    if (!typed) amount.value = minorToDecimal(12500, currencyExponent(currency.value));
  });
  const body = devices.length
    ? [h('p', { class: 'muted' }, 'A one-item cart (25 % tax included) for the device. Then take the payment on the POS, or simulate the tap on the session’s page.'),
      field('Device', device), h('div', { class: 'field-row' }, field('Amount', amount), field('Currency', currency)),
      field('Item', item), field('Reference', ref, 'merchant_reference1: echoed in webhooks and searchable')]
    : [emptyState('No device yet', 'A session goes to a device. Pair the web POS, or add a simulated device on the Devices page.',
      h('a', { href: href('devices'), class: 'btn btn-ghost' }, 'Go to devices'))];
  const created = await dialog({
    title: 'New test session',
    testid: 'new-session-dialog',
    submitLabel: 'Create session',
    body,
    onSubmit: async () => {
      if (!devices.length) invalid(device, 'Pair a device first.');
      const cur = currency.value;
      const minor = decimalToMinor(amount.value, cur);
      if (minor == null || minor <= 0) invalid(amount, `Enter an amount in ${cur}, such as ${minorToDecimal(12500, currencyExponent(cur))}.`);
      if (!item.value.trim()) invalid(item, 'Name the item.');
      const tax = Math.round((minor * 2500) / 12500);
      return ctx.api.sessions.create({
        device_id: device.value,
        order_amount: minor,
        purchase_currency: cur,
        merchant_reference1: ref.value.trim() || undefined,
        order_items: [{ name: item.value.trim(), quantity: 1, unit_price: minor, total_amount: minor, tax_rate: 2500, total_tax_amount: tax }],
      });
    },
  });
  if (created?.session_id) ctx.navigate(href('session', created.session_id));
}

