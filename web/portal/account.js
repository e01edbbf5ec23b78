// Account: who is signed in, the merchant, the server's mode and the card processor as far as
// the API shows it, links to the API description and the web POS, sign-out.

import { h, pageHeader, section, loading, idText, swap, badge, labelize } from './ui.js';

export function render(ctx, route, scope) {
  const { user } = ctx.me;
  const processor = h('div', { testid: 'processor-status' }, loading());

  (async () => {
    if (ctx.playground) {
      swap(processor, processorFacts('Simulated (playground)', 'ok',
        'Card taps are simulated: no money moves. Simulate any outcome from a session’s page, or with POST /ipp/v1/dev/sessions/{id}/simulate-tap.'));
      return;
    }
    // No route reports the processor's configuration: say what the sessions show.
    let seen = null;
    try {
      const page = await ctx.api.sessions.list({ page_size: 100 });
      seen = page.content.find((s) => s.processor?.name)?.processor.name || null;
    } catch { /* shown as not visible */ }
    if (!scope.alive) return;
    swap(processor, seen
      ? processorFacts(seen === 'stripe' ? 'Stripe' : labelize(seen), 'ok',
        'Recent sessions were paid through this processor.')
      : processorFacts('Not visible yet', 'neutral',
        'No recent session went through a card processor, and Kassa does not report its processor settings over the API. Once a card payment is taken, it shows here.'));
  })();

  return h('div', { 'data-title': 'Account', testid: 'page-account' },
    pageHeader('Account', { subtitle: 'Your sign-in, this merchant and this server.' }),
    h('div', { class: 'grid-2' },
      section('Signed in', h('div', {},
        h('dl', { class: 'facts' },
          h('dt', {}, 'Email'), h('dd', {}, user.email),
          h('dt', {}, 'Role'), h('dd', { testid: 'account-role' }, user.role === 'admin' ? 'Admin: can change everything' : 'Viewer: reads only'),
          user.merchant_name ? [h('dt', {}, 'Merchant'), h('dd', { testid: 'merchant-name' }, user.merchant_name)] : null,
          h('dt', {}, 'Merchant id'), h('dd', {}, idText(user.merchant_id, { full: true })),
          h('dt', {}, 'Server mode'), h('dd', {}, ctx.playground ? 'Playground (test keys, simulated cards)' : 'Live (real money)')),
        h('p', { class: 'muted small' }, 'Portal sessions end after 12 hours without use. Users are managed with ', h('code', {}, 'kassa admin user'), '.'))),
      section('Card processor', processor, { testid: 'processor-panel' })),
    section('Developers', h('ul', { class: 'links' },
      h('li', {}, h('a', { href: '/openapi.json' }, 'API description (OpenAPI)'), h('span', { class: 'muted' }, ' · every route the portal uses is public')),
      h('li', {}, h('a', { href: '/pos' }, 'Web POS'), h('span', { class: 'muted' }, ' · pair it from Devices')))));
}

function processorFacts(name, kind, text) {
  return h('div', {}, h('p', { class: 'processor-name' }, badge(name, kind, { testid: 'processor-name' })), h('p', { class: 'muted' }, text));
}
