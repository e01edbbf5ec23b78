// Webhook endpoints: create (the signing secret is shown once), enable/disable, rotate the
// secret (shown once again), delete; each endpoint's delivery log, live, with resend.

import {
  h, pageHeader, section, loading, emptyState, errorBox, time, badge, table, swap, field, dialog,
  confirm, invalid, coalesce, toast, secretOnce, pager, busy, idText, shortId, FormError,
} from './ui.js';
import { href } from './routes.js';
import { deliveriesTable, resendButton } from './session.js';

export const EVENT_TYPES = [
  'ipp.session.created', 'ipp.session.activated', 'ipp.session.finalized', 'ipp.session.cancelled',
  'ipp.payment.failed', 'ipp.session.expired', 'ipp.session.failed',
];

export function render(ctx, route, scope) {
  return route.page === 'webhook' ? endpointPage(ctx, route, scope) : listPage(ctx, route, scope);
}

function listPage(ctx, route, scope) {
  const list = h('div', {}, loading());
  const reload = coalesce(async () => {
    try {
      const endpoints = await ctx.api.webhooks.all();
      if (!scope.alive) return;
      if (!endpoints.length) {
        swap(list, emptyState('No webhook endpoints yet',
          'Add the URL of your backend and Kassa POSTs it every session event, signed per Standard Webhooks. '
          + (ctx.playground ? 'Playground accepts http:// and local addresses; ' : 'Live mode needs a public https:// address; ')
          + 'or run `kassa listen --forward-to …` during development.',
          ctx.canChange ? addButton() : null));
        return;
      }
      swap(list, table({
        caption: 'Webhook endpoints', testid: 'endpoints-table', rowTestid: 'endpoint-row',
        rows: endpoints, key: (e) => e.id,
        columns: [
          { label: 'URL', cell: (e) => h('a', { href: href('webhook', e.id), class: 'url row-link', 'data-fk': `open:${e.id}`, testid: 'endpoint-link' }, e.url) },
          { label: 'Description', cell: (e) => e.description || h('span', { class: 'muted' }, '—') },
          { label: 'Events', cell: (e) => eventsSummary(e.events) },
          { label: 'Status', cell: (e) => enabledBadge(e) },
          { label: 'Created', cell: (e) => time(e.created_at) },
        ],
      }));
    } catch (e) {
      if (scope.alive) swap(list, errorBox(e, { retry: reload }));
    }
  });

  const addButton = () => h('button', {
    type: 'button', class: 'btn btn-primary', testid: 'add-endpoint',
    onclick: async () => { const ep = await createEndpoint(ctx); if (ep) reload(); },
  }, 'Add endpoint');

  reload();
  return h('div', { 'data-title': 'Webhooks', testid: 'page-webhooks' },
    pageHeader('Webhooks', { subtitle: 'Endpoints that receive your session events.', actions: ctx.canChange ? [addButton()] : [] }),
    h('section', { class: 'card', 'aria-label': 'Endpoints' }, list));
}

const eventsSummary = (types) => (types.length >= EVENT_TYPES.length ? 'All events' : types.join(', '));

function enabledBadge(e) {
  return h('span', { class: 'status-cell' },
    badge(e.enabled ? 'Enabled' : 'Disabled', e.enabled ? 'ok' : 'bad', { testid: 'endpoint-status' }),
    !e.enabled && e.disabled_reason ? h('span', { class: 'small muted' }, e.disabled_reason) : null);
}

async function createEndpoint(ctx) {
  const url = h('input', { name: 'url', type: 'url', inputmode: 'url', placeholder: 'https://example.com/kassa/webhooks', testid: 'endpoint-url', required: true, autocomplete: 'off' });
  const description = h('input', { name: 'description', maxlength: '1000', testid: 'endpoint-description', autocomplete: 'off' });
  const boxes = EVENT_TYPES.map((t) => h('input', { type: 'checkbox', name: 'events', value: t, checked: true, id: `ev-${t}` }));
  const types = h('fieldset', { class: 'checks' }, h('legend', {}, 'Events to send'),
    boxes.map((b) => h('label', { for: b.id, class: 'check' }, b, h('code', {}, b.value))));
  let created = null;
  await dialog({
    title: 'Add a webhook endpoint', testid: 'endpoint-dialog', submitLabel: 'Add endpoint',
    body: [field('URL', url), field('Description', description, 'Optional, for you'), types],
    onSubmit: async () => {
      const u = url.value.trim();
      if (!/^https?:\/\/\S+$/i.test(u)) invalid(url, 'Enter a full http:// or https:// URL.');
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) throw new FormError('Choose at least one event type.');
      created = await ctx.api.webhooks.create({
        url: u, description: description.value.trim() || undefined,
        events: chosen.length === EVENT_TYPES.length ? undefined : chosen,
      });
      return h('div', {}, h('p', {}, 'Endpoint added: ', h('code', { class: 'url' }, created.url)),
        secretOnce('Signing secret', created.secret, 'Verify each delivery’s webhook-signature with it. Copy it now: it is shown only this once.'));
    },
  });
  return created;
}

function endpointPage(ctx, route, scope) {
  const id = route.id;
  const info = h('div', {}, loading());
  const actions = h('div', { class: 'page-actions' });
  const log = h('div', {}, loading());
  const title = h('h1', { tabindex: '-1', testid: 'page-title' }, 'Endpoint');
  let endpoint = null;
  let pageNo = 0;
  let lastLog = null;

  const load = coalesce(async () => {
    try {
      endpoint = await ctx.api.webhooks.get(id);
    } catch (e) {
      if (scope.alive) swap(info, errorBox(e, { retry: load }));
      return;
    }
    if (!scope.alive) return;
    title.textContent = endpoint.description || 'Endpoint';
    swap(info, h('dl', { class: 'facts' },
      h('dt', {}, 'URL'), h('dd', {}, h('code', { class: 'url', testid: 'endpoint-url-text' }, endpoint.url)),
      h('dt', {}, 'Status'), h('dd', {}, enabledBadge(endpoint)),
      h('dt', {}, 'Events'), h('dd', {}, eventsSummary(endpoint.events)),
      h('dt', {}, 'Created'), h('dd', {}, time(endpoint.created_at)),
      h('dt', {}, 'Updated'), h('dd', {}, time(endpoint.updated_at)),
      h('dt', {}, 'Endpoint id'), h('dd', {}, idText(endpoint.id, { full: true }))));
    swap(actions, ctx.canChange ? [
      h('button', { type: 'button', class: 'btn btn-ghost', testid: 'endpoint-toggle', 'data-fk': 'toggle', onclick: (e) => toggle(e.currentTarget) },
        endpoint.enabled ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'btn btn-ghost', testid: 'endpoint-rotate', 'data-fk': 'rotate', onclick: rotate }, 'Rotate secret…'),
      h('button', { type: 'button', class: 'btn btn-danger-ghost', testid: 'endpoint-delete', 'data-fk': 'delete', onclick: remove }, 'Delete…'),
    ] : []);
  });

  const loadLog = coalesce(async () => {
    try {
      const page = await ctx.api.webhooks.deliveries(id, { page_number: pageNo, page_size: 25 });
      if (!scope.alive) return;
      const json = JSON.stringify(page);
      if (json === lastLog) return;
      lastLog = json;
      swap(log, page.content.length
        ? [deliveriesTable(page.content, {
          showEndpoint: false,
          resend: (a) => (ctx.canChange ? resendButton(ctx, { id: a.event_id, type: a.event_type }) : null),
        }), pager(page, (n) => { pageNo = n; loadLog(); })]
        : emptyState('No deliveries yet', 'Each session event is sent here as it happens. Create a test session to see one.',
          h('a', { href: href('sessions'), class: 'btn btn-ghost' }, 'Go to sessions')));
    } catch (e) {
      if (scope.alive) swap(log, errorBox(e, { retry: loadLog }));
    }
  });
  log.addEventListener('resend', () => { scope.later(700, loadLog); scope.later(2500, loadLog); });

  async function toggle(btn) {
    await busy(btn, async () => {
      await ctx.api.webhooks.update(id, { enabled: !endpoint.enabled });
      toast([endpoint.enabled ? 'Endpoint disabled: no events are sent to it' : 'Endpoint enabled'], 'ok');
      await load();
    });
  }

  async function rotate() {
    await dialog({
      title: 'Rotate the signing secret?', testid: 'rotate-dialog', submitLabel: 'Rotate secret',
      body: [h('p', {}, 'Kassa makes a new secret. For 10 minutes every delivery carries two signatures, one per secret, so your receiver can switch without refusing anything.')],
      onSubmit: async () => {
        const ep = await ctx.api.webhooks.rotate(id);
        return secretOnce('New signing secret', ep.secret);
      },
    });
  }

  async function remove() {
    const done = await confirm({
      title: 'Delete this endpoint?', testid: 'endpoint-delete-dialog',
      text: 'Kassa stops sending to it and deletes its delivery log. This cannot be undone.',
      confirmLabel: 'Delete endpoint',
      action: () => ctx.api.webhooks.remove(id),
    });
    if (done) { toast(['Endpoint deleted'], 'ok'); ctx.navigate(href('webhooks')); }
  }

  load();
  loadLog();
  scope.onFeed(() => { loadLog(); scope.later(800, loadLog); scope.later(3000, loadLog); });

  return h('div', { 'data-title': `Endpoint …${shortId(id)}`, testid: 'page-webhook' },
    h('div', { class: 'page-head' },
      h('div', { class: 'page-title' }, h('a', { class: 'back-link', href: href('webhooks') }, '← Webhooks'), title),
      actions),
    section('Endpoint', info),
    section('Delivery log', log, { testid: 'delivery-log', note: 'Newest first. Updates arrive live.' }));
}
