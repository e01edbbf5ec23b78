// Account: who is signed in, the merchant, the server's mode, the card processors
// (GET /ipp/v1/processors), links to the API description and the web POS.

import { h, pageHeader, section, loading, idText, swap, badge, labelize } from './ui.js';

export function render(ctx, route, scope) {
  const { user } = ctx.me;
  const processor = h('div', { testid: 'processor-status' }, loading());

  (async () => {
    let list;
    try {
      list = (await ctx.api.processors()).processors || [];
    } catch (e) {
      if (scope.alive) swap(processor, processorFacts('Unknown', 'neutral', `The status could not be read: ${e.message}`));
      return;
    }
    if (!scope.alive) return;
    swap(processor, list.length
      ? h('div', {}, list.map(processorCard))
      : processorFacts('None', 'bad', 'No card processor is configured: card payments are refused. Set KASSA_STRIPE_SECRET_KEY (see docs/stripe.md).'));
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

// One processor as the server reports it (`GET /ipp/v1/processors`): never a secret.
function processorCard(p) {
  if (p.name === 'simulated') {
    return processorFacts('Simulated (playground)', 'ok',
      'Card taps are simulated: no money moves. Simulate any outcome from a session’s page, or with POST /ipp/v1/dev/sessions/{id}/simulate-tap.');
  }
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Mode'), h('dd', {}, p.mode === 'live' ? 'Live (real money)' : 'Test'),
    h('dt', {}, 'Takes cards on'), h('dd', {}, p.devices),
    p.api_version ? [h('dt', {}, 'API version'), h('dd', {}, p.api_version)] : null,
    p.webhooks == null ? null : [h('dt', {}, 'Webhooks'), h('dd', { testid: 'processor-webhooks' },
      p.webhooks ? 'Verified (signing secret set)' : 'Not configured: results arrive by polling')],
    h('dt', {}, 'Connected account'), h('dd', {}, p.account || 'None (the platform account)'));
  return h('div', {}, h('p', { class: 'processor-name' }, badge(labelize(p.name), 'ok', { testid: 'processor-name' })), facts);
}

function processorFacts(name, kind, text) {
  return h('div', {}, h('p', { class: 'processor-name' }, badge(name, kind, { testid: 'processor-name' })), h('p', { class: 'muted' }, text));
}
