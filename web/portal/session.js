// One session: what was sold, where it stands (live), its timeline, the webhook events it
// produced with every delivery attempt to every endpoint, and its order. Playground: the card
// tap, any outcome, from here.

import {
  h, section, loading, emptyState, errorBox, money, time, badge, table, swap,
  confirm, coalesce, idText, shortId, busy, toast, labelize, select,
} from './ui.js';
import { href } from './routes.js';
import { orderPanel } from './order.js';
import { formatMoney, formatRate, methodLabel, reasonLabel, DECLINES, formatCountdown } from '../shared/format.js';

const OPEN = new Set(['CREATED', 'ACTIVE']);
const ACTORS = { MERCHANT: 'the merchant', DEVICE: 'the device', EXPIRY: 'expiry', SIMULATOR: 'the simulator', PROCESSOR: 'the card processor' };

export function render(ctx, route, scope) {
  const id = route.id;
  const title = h('h1', { tabindex: '-1', testid: 'page-title' }, `Session …${shortId(id)}`);
  const statusSlot = h('span', { testid: 'session-status' });
  const actions = h('div', { class: 'page-actions' });
  const summary = h('div', {}, loading());
  const sim = h('div');
  const cart = h('div', {}, loading());
  const timeline = h('div', {}, loading());
  const hooks = h('div', {}, loading());
  const orderSlot = h('div');
  let session = null;
  let order = null; // {id, panel}
  let lastJson = null;
  const names = {};

  const loadSession = coalesce(async () => {
    let s;
    try {
      s = await ctx.api.sessions.get(id);
    } catch (e) {
      if (scope.alive) swap(summary, errorBox(e, { retry: loadSession }));
      return;
    }
    if (!scope.alive) return;
    const json = JSON.stringify(s);
    if (json === lastJson) return;
    lastJson = json;
    if (!session) fetchNames(s);
    session = s;
    drawSession();
  });

  function drawSession() {
    const s = session;
    const cur = s.purchase_currency;
    title.textContent = s.merchant_reference1 || `Session …${shortId(s.session_id)}`;
    swap(statusSlot, badge(s.status));
    statusSlot.dataset.status = s.status;
    swap(actions, ctx.canChange && OPEN.has(s.status)
      ? h('button', { type: 'button', class: 'btn btn-danger-ghost', testid: 'cancel-session', 'data-fk': 'cancel', onclick: cancelSession }, 'Cancel session…')
      : null);
    swap(summary, h('dl', { class: 'facts' },
      h('dt', {}, 'Amount'), h('dd', {}, money(s.order_amount, cur, { class: 'amount big', testid: 'session-amount' })),
      h('dt', {}, 'Status'), h('dd', {}, badge(s.status),
        OPEN.has(s.status) ? h('span', { class: 'muted small countdown', 'data-expires': s.expires_at }, expiresText(s.expires_at)) : null),
      s.failure_reason ? [h('dt', {}, 'Last decline'), h('dd', { testid: 'failure-reason' }, reasonLabel(s.failure_reason))] : null,
      h('dt', {}, 'Attempts'), h('dd', {}, String(s.attempts)),
      h('dt', {}, 'Payment method'), h('dd', {}, methodLabel(s.payment_method) || '—'),
      h('dt', {}, 'Device'), h('dd', {}, h('a', { href: href('devices') }, names.device ?? `…${shortId(s.device_id)}`)),
      h('dt', {}, 'Location'), h('dd', {}, s.location_id ? (names.location ?? `…${shortId(s.location_id)}`) : '—'),
      h('dt', {}, 'References'), h('dd', {}, [s.merchant_reference1, s.merchant_reference2].filter(Boolean).join(' · ') || '—'),
      h('dt', {}, 'Created'), h('dd', {}, time(s.created_at, { seconds: true })),
      h('dt', {}, s.status === 'FINALIZED' ? 'Completed' : 'Updated'), h('dd', {}, time(s.purchase_completed_at || s.updated_at, { seconds: true })),
      h('dt', {}, 'Capture'), h('dd', {}, s.auto_capture ? 'Automatic at payment' : 'Manual (capture the order)'),
      s.processor ? [h('dt', {}, 'Processor'), h('dd', {}, `${labelize(s.processor.name)} · ${s.processor.payment_intent}`)] : null,
      h('dt', {}, 'Session id'), h('dd', {}, idText(s.session_id, { full: true }))));
    swap(sim, ctx.playground && ctx.canChange && OPEN.has(s.status) && !s.processor ? simulator(s) : null);
    swap(cart, cartTable(s));
    if (s.order_id && order?.id !== s.order_id) {
      order = { id: s.order_id, panel: orderPanel(ctx, s.order_id, scope) };
      swap(orderSlot, order.panel.el);
    } else if (!s.order_id) {
      swap(orderSlot, null);
    }
  }

  function simulator(s) {
    const outcome = select('outcome', DECLINES.map((d) => [d, reasonLabel(d)]), 'INSUFFICIENT_FUNDS', { testid: 'sim-outcome' });
    outcome.id = 'sim-outcome';
    const tap = (btn, value) => busy(btn, async () => {
      const res = await ctx.api.sessions.simulateTap(s.session_id, value);
      if (res?.result === 'FAILED') toast([`Declined: ${reasonLabel(res.failure_reason)}`], 'ok');
      // The feed brings the new state; reading it now saves the wait.
      loadSession();
    });
    return section('Simulate a card tap', h('div', { class: 'sim' },
      h('p', { class: 'muted' }, 'Playground: act as the card reader. The session moves exactly as with a real tap, webhooks included.'),
      h('div', { class: 'sim-row' },
        h('button', { type: 'button', class: 'btn btn-success', testid: 'sim-approve', 'data-fk': 'approve', onclick: (e) => tap(e.currentTarget, 'SUCCESS') }, 'Approve'),
        h('span', { class: 'sim-or muted' }, 'or'),
        h('label', { for: 'sim-outcome', class: 'sr-only' }, 'Decline reason'), outcome,
        h('button', { type: 'button', class: 'btn btn-ghost', testid: 'sim-decline', 'data-fk': 'decline', onclick: (e) => tap(e.currentTarget, outcome.value) }, 'Decline'))),
    { testid: 'simulator', note: 'Playground' });
  }

  async function cancelSession() {
    const s = session;
    const done = await confirm({
      title: 'Cancel this session?',
      testid: 'cancel-session-dialog',
      text: `The device stops waiting for the ${formatMoney(s.order_amount, s.purchase_currency)} payment and no card is charged.`,
      confirmLabel: 'Cancel session',
      action: () => ctx.api.sessions.cancel(s.session_id),
    });
    if (done) loadSession();
  }

  const loadTimeline = coalesce(async () => {
    try {
      const t = await ctx.api.sessions.timeline(id);
      if (scope.alive) swap(timeline, timelineList(t.events));
    } catch (e) {
      if (scope.alive) swap(timeline, errorBox(e, { retry: loadTimeline }));
    }
  });

  const loadHooks = coalesce(async () => {
    try {
      const view = await webhookView(ctx, id, session?.created_at);
      if (scope.alive) swap(hooks, view);
    } catch (e) {
      if (scope.alive) swap(hooks, errorBox(e, { retry: loadHooks }));
    }
  });
  hooks.addEventListener('resend', () => { scope.later(700, loadHooks); scope.later(2500, loadHooks); });

  // Names of the device and location, once.
  async function fetchNames(s) {
    const [d, l] = await Promise.all([
      ctx.api.devices.get(s.device_id).catch(() => null),
      s.location_id ? ctx.api.locations.get(s.location_id).catch(() => null) : null,
    ]);
    names.device = d ? d.name || `Device …${shortId(d.id)}` : undefined;
    names.location = l?.name;
    if (session && scope.alive) drawSession();
  }

  loadSession().then(() => loadHooks());
  loadTimeline();
  scope.onFeed((events, { resync } = {}) => {
    if (!resync && !events.some((e) => e.data?.session_id === id)) return;
    loadSession();
    loadTimeline();
    order?.panel.reload();
    // Deliveries go out just after their event: look again once they have had time.
    loadHooks();
    scope.later(800, loadHooks);
    scope.later(3000, loadHooks);
  });
  scope.every(1000, () => {
    for (const el of summary.querySelectorAll('[data-expires]')) el.textContent = expiresText(el.dataset.expires);
  });

  return h('div', { 'data-title': 'Session', testid: 'page-session' },
    h('div', { class: 'page-head' },
      h('div', { class: 'page-title' },
        h('a', { class: 'back-link', href: href('sessions') }, '← Sessions'),
        h('div', { class: 'title-row' }, title, statusSlot)),
      actions),
    h('div', { class: 'grid-2' },
      h('div', { class: 'stack' }, section('Summary', summary, { testid: 'session-summary' }), sim, orderSlot),
      h('div', { class: 'stack' },
        section('Cart', cart, { testid: 'session-cart' }),
        section('Timeline', timeline, { testid: 'session-timeline' }))),
    section('Webhooks', hooks, { testid: 'session-webhooks', note: 'Events of this session and their deliveries' }));
}

function expiresText(iso) {
  const left = Date.parse(iso) - Date.now();
  return left > 0 ? ` · expires in ${formatCountdown(left)}` : ' · expiring…';
}

function cartTable(s) {
  const cur = s.purchase_currency;
  return h('div', {},
    table({
      caption: 'Order items', testid: 'cart-items',
      rows: s.order_items,
      columns: [
        { label: 'Item', cell: (i) => h('span', {}, i.name, i.reference ? h('span', { class: 'muted small' }, ` · ${i.reference}`) : null) },
        { label: 'Qty', class: 'num', cell: (i) => String(i.quantity) },
        { label: 'Unit price', class: 'num', cell: (i) => money(i.unit_price, cur) },
        { label: 'Tax', class: 'num', cell: (i) => formatRate(i.tax_rate) || '0%' },
        { label: 'Total', class: 'num', cell: (i) => h('span', {}, money(i.total_amount, cur),
          i.total_discount_amount ? h('span', { class: 'muted small' }, ` (−${formatMoney(i.total_discount_amount, cur)})`) : null) },
      ],
    }),
    h('dl', { class: 'totals' },
      h('dt', {}, 'Tax included'), h('dd', {}, money(s.order_tax_amount, cur)),
      h('dt', { class: 'grand' }, 'Total'), h('dd', { class: 'grand' }, money(s.order_amount, cur))));
}

function timelineList(entries) {
  if (!entries.length) return emptyState('No entries yet', null);
  return h('ol', { class: 'timeline', testid: 'timeline' }, entries.map((e) => {
    let text, kind;
    if (e.type === 'transition') {
      text = e.from ? `${labelize(e.from)} → ${labelize(e.to)}` : `${labelize(e.to)}`;
      kind = e.to;
    } else {
      const ok = e.outcome === 'SUCCESS';
      text = ok ? 'Payment attempt approved' : `Payment attempt declined: ${reasonLabel(e.failure_reason || e.outcome)}`;
      kind = ok ? 'FINALIZED' : 'FAILED';
    }
    return h('li', { class: `tl tl-${String(kind).toLowerCase()}`, testid: 'timeline-entry', 'data-type': e.type, 'data-to': e.to || null },
      h('span', { class: 'tl-dot', 'aria-hidden': 'true' }),
      h('div', { class: 'tl-body' },
        h('p', { class: 'tl-text' }, text, e.actor ? h('span', { class: 'muted' }, ` · by ${ACTORS[e.actor] || labelize(e.actor)}`) : null),
        h('p', { class: 'small muted' }, time(e.at, { seconds: true }))));
  }));
}

/**
 * The session's webhook events (from the event feed filtered by session) with the attempts of
 * every endpoint for them (each endpoint's delivery log, read newest first back to the
 * session's creation), and a resend per event.
 */
async function webhookView(ctx, sessionId, createdAt) {
  const [feed, endpoints] = await Promise.all([
    ctx.api.events.list({ session_id: sessionId, limit: 1000 }),
    ctx.api.webhooks.all(),
  ]);
  const events = feed.events || [];
  if (!endpoints.length) {
    return emptyState('No webhook endpoints', 'Add an endpoint on the Webhooks page and Kassa sends it every event of every session.',
      h('a', { href: href('webhooks'), class: 'btn btn-ghost' }, 'Go to webhooks'));
  }
  if (!events.length) return emptyState('No events yet', 'Events appear as the session changes.');
  const ids = new Set(events.map((e) => e.id));
  const since = createdAt ? Date.parse(createdAt) - 1000 : 0;
  const byEvent = new Map(events.map((e) => [e.id, []]));
  await Promise.all(endpoints.map(async (ep) => {
    for (let page = 0; page < 10; page++) {
      const p = await ctx.api.webhooks.deliveries(ep.id, { page_number: page, page_size: 100 });
      for (const a of p.content) if (ids.has(a.event_id)) byEvent.get(a.event_id).push({ ...a, endpoint: ep });
      const oldest = p.content.at(-1);
      if (p.last || !oldest || Date.parse(oldest.attempted_at) < since) break;
    }
  }));
  return h('ol', { class: 'hook-events', testid: 'webhook-events' }, events.map((ev) => {
    const attempts = byEvent.get(ev.id).sort((a, b) => Date.parse(b.attempted_at) - Date.parse(a.attempted_at));
    return h('li', { class: 'hook-event', testid: 'webhook-event', 'data-event-id': ev.id, 'data-type': ev.type },
      h('div', { class: 'hook-head' },
        h('code', { class: 'event-type' }, ev.type),
        h('span', { class: 'muted small' }, time(ev.timestamp, { seconds: true })),
        h('span', { class: 'muted small' }, ev.id),
        ctx.canChange ? resendButton(ctx, ev) : null),
      attempts.length
        ? deliveriesTable(attempts)
        : h('p', { class: 'muted small' }, 'No delivery attempt yet (it may be on its way, or no endpoint wants this type).'));
  }));
}

export function resendButton(ctx, ev, { label = 'Resend' } = {}) {
  return h('button', {
    type: 'button', class: 'btn btn-ghost btn-sm', testid: 'resend', 'data-fk': `resend:${ev.id}`,
    onclick: (e) => {
      const btn = e.currentTarget;
      busy(btn, async () => {
        const res = await ctx.api.events.redeliver(ev.id);
        toast([res?.endpoints ? `Sending ${ev.type} again to ${res.endpoints} endpoint${res.endpoints === 1 ? '' : 's'}` : 'No enabled endpoint wants this event type'], 'ok');
        btn.dispatchEvent(new CustomEvent('resend', { bubbles: true }));
      });
    },
  }, label);
}

/** Delivery attempts as a table: when, where, what came back. */
export function deliveriesTable(attempts, { showEndpoint = true, resend } = {}) {
  return table({
    caption: 'Delivery attempts', testid: 'deliveries', rowTestid: 'delivery',
    rows: attempts,
    key: (a) => a.attempt_id,
    columns: [
      { label: 'Attempted', cell: (a) => time(a.attempted_at, { seconds: true }) },
      showEndpoint ? { label: 'Endpoint', cell: (a) => h('span', { class: 'url' }, a.endpoint?.url || '') } : null,
      resend ? { label: 'Event', cell: (a) => h('span', {}, h('code', { class: 'event-type' }, a.event_type), h('br'), h('span', { class: 'small muted' }, a.event_id)) } : null,
      { label: 'Result', cell: (a) => deliveryResult(a) },
      { label: 'Latency', class: 'num', cell: (a) => `${a.latency_ms} ms` },
      { label: 'Next attempt', cell: (a) => (a.next_attempt_at ? time(a.next_attempt_at, { seconds: true }) : '—') },
      resend ? { label: 'Actions', cell: (a) => resend(a) } : null,
    ].filter(Boolean),
  });
}

function deliveryResult(a) {
  const ok = a.status_code >= 200 && a.status_code < 300;
  return h('span', { class: 'status-cell' },
    badge(a.status_code ? `HTTP ${a.status_code}` : 'No answer', ok ? 'ok' : 'bad', { testid: 'delivery-status' }),
    a.error ? h('span', { class: 'small muted' }, a.error) : null,
    a.response_snippet && !ok ? h('span', { class: 'small muted snippet' }, a.response_snippet) : null);
}
