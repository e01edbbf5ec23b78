// API keys: create (the key is shown once; Kassa keeps only its hash), revoke. The prefix
// tells keys apart; `kassa admin key revoke` accepts it too.

import {
  h, pageHeader, loading, emptyState, errorBox, time, badge, table, swap, field, dialog, confirm,
  coalesce, toast, secretOnce, pager,
} from './ui.js';

export function render(ctx, route, scope) {
  const list = h('div', {}, loading());
  let pageNo = 0;

  const reload = coalesce(async () => {
    let page;
    try {
      page = await ctx.api.apiKeys.list({ page_number: pageNo, page_size: 50 });
    } catch (e) {
      if (!scope.alive) return;
      swap(list, e.status === 404 && e.messages.some((m) => /route/i.test(m))
        ? emptyState('Not available on this server', 'This Kassa version cannot list API keys over the API yet: use `kassa admin key create|revoke`.')
        : errorBox(e, { retry: reload }));
      return;
    }
    if (!scope.alive) return;
    swap(list, page.content.length
      ? [table({
        caption: 'API keys', testid: 'keys-table', rowTestid: 'key-row',
        rows: page.content, key: (k) => k.id,
        columns: [
          { label: 'Key', cell: (k) => h('code', { testid: 'key-prefix' }, `${k.prefix}…${k.last4 || ''}`) },
          { label: 'Description', cell: (k) => k.description || h('span', { class: 'muted' }, '—') },
          { label: 'Mode', cell: (k) => (k.mode === 'live' ? 'Live' : 'Test') },
          { label: 'Created', cell: (k) => time(k.created_at) },
          { label: 'Status', cell: (k) => (k.revoked_at
            ? h('span', { class: 'status-cell' }, badge('Revoked', 'neutral', { testid: 'key-status' }), h('span', { class: 'small muted' }, time(k.revoked_at)))
            : badge('Active', 'ok', { testid: 'key-status' })) },
          ctx.canChange ? { label: 'Actions', cell: (k) => (k.revoked_at ? null : h('button', {
            type: 'button', class: 'btn btn-danger-ghost btn-sm', testid: 'key-revoke', 'data-fk': `revoke:${k.id}`,
            onclick: () => revoke(k),
          }, 'Revoke')) } : null,
        ].filter(Boolean),
      }), pager(page, (n) => { pageNo = n; reload(); })]
      : emptyState('No API keys', 'Your backend authenticates with an API key: create one and keep it in your secrets store.',
        ctx.canChange ? addButton() : null));
  });

  async function create() {
    const description = h('input', { name: 'description', maxlength: '255', autocomplete: 'off', testid: 'key-description', placeholder: 'e.g. Checkout backend' });
    const made = await dialog({
      title: 'Create an API key', testid: 'key-dialog', submitLabel: 'Create key',
      body: [field('Description', description, 'What uses this key: it helps when you rotate or revoke it later')],
      onSubmit: async () => {
        const k = await ctx.api.apiKeys.create(description.value.trim() ? { description: description.value.trim() } : {});
        reload();
        return secretOnce('API key', k.api_key, 'Send it as Authorization: Basic <key>. Copy it now: Kassa keeps only a hash and cannot show it again.');
      },
    });
    if (made) reload();
  }

  async function revoke(k) {
    const done = await confirm({
      title: `Revoke the key ${k.prefix}…?`,
      testid: 'key-revoke-dialog',
      text: 'Every request with this key is refused from now on. Make sure nothing still uses it. This cannot be undone.',
      confirmLabel: 'Revoke key',
      action: () => ctx.api.apiKeys.revoke(k.id),
    });
    if (done) { toast(['Key revoked'], 'ok'); reload(); }
  }

  const addButton = () => h('button', { type: 'button', class: 'btn btn-primary', testid: 'add-key', onclick: create }, 'Create API key');

  reload();
  return h('div', { 'data-title': 'API keys', testid: 'page-api-keys' },
    pageHeader('API keys', {
      subtitle: `Keys for your backend on this ${ctx.playground ? 'playground (test keys)' : 'live server (live keys)'}.`,
      actions: ctx.canChange ? [addButton()] : [],
    }),
    h('section', { class: 'card', 'aria-label': 'API keys' }, list));
}
