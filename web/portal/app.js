// Kassa merchant portal: the controller. Signs in, draws the frame (top bar, navigation),
// routes the URL fragment to a page and runs the one live loop (feed.js) that pages
// subscribe to. Pages are functions from (ctx, route, scope) to a DOM node that keeps itself
// up to date; `scope` is torn down on navigation, so no page leaves a timer or a subscription
// behind.

import { createPortalApi } from './api.js';
import { Feed } from './feed.js';
import { parseRoute, NAV, href } from './routes.js';
import { h, toast, toastError, errorBox, loading } from './ui.js';
import * as login from './login.js';
import * as sessions from './sessions.js';
import * as session from './session.js';
import * as order from './order.js';
import * as devices from './devices.js';
import * as locations from './locations.js';
import * as webhooks from './webhooks.js';
import * as events from './events.js';
import * as keys from './keys.js';
import * as account from './account.js';

const PAGES = {
  sessions, session, order, devices, locations, webhooks, webhook: webhooks, events,
  'api-keys': keys, account,
};

const root = document.getElementById('root');
const serverMode = document.querySelector('meta[name="kassa-mode"]')?.content === 'live' ? 'live' : 'playground';

const api = createPortalApi({ onUnauthorized: () => signedOut('Your session has ended. Sign in again to continue.') });

/** What every page gets: the API, who is signed in, the live feed. */
const ctx = {
  api,
  me: null, // {user: {id, email, role, merchant_id}, mode}
  feed: null,
  get mode() { return ctx.me?.mode || serverMode; },
  get playground() { return ctx.mode !== 'live'; },
  /** A viewer reads only: pages leave out every button that changes something. */
  get canChange() { return ctx.me?.user?.role === 'admin'; },
  navigate(to) { if (location.hash !== to) location.hash = to; else route(); },
  /** Rewrite the address (filters, page number) without a new history entry or a redraw. */
  replaceQuery(to) { history.replaceState(null, '', to); },
};

// ---------------------------------------------------------------- sign-in state

async function boot() {
  root.replaceChildren(h('main', { id: 'main', class: 'boot' }, loading('Opening the portal…')));
  try {
    signedIn(await api.me(), { first: true });
  } catch (e) {
    if (e.status === 401) showLogin();
    else root.replaceChildren(h('main', { id: 'main', class: 'boot' }, errorBox(e, { retry: boot })));
  }
}

function signedIn(me, { first = false } = {}) {
  ctx.me = { user: me.user, mode: me.mode || serverMode };
  api.setCsrf(me.csrf_token);
  ctx.feed?.stop();
  ctx.feed = new Feed(api, { onState: renderConn });
  ctx.feed.start();
  drawShell();
  route({ focus: !first });
}

function signedOut(notice) {
  if (!ctx.me) return; // several 401s can arrive at once
  ctx.feed?.stop();
  ctx.feed = null;
  ctx.me = null;
  api.setCsrf(null);
  current?.scope.dispose();
  current = null;
  showLogin(notice);
}

function showLogin(notice) {
  document.title = 'Sign in · Kassa';
  root.replaceChildren(login.render({ api, mode: serverMode, notice, onSignedIn: (me) => signedIn(me) }));
}

async function signOut(btn) {
  btn.disabled = true;
  try {
    await api.logout();
  } catch (e) {
    if (e.status !== 401) { toastError(e); btn.disabled = false; return; }
  }
  signedOut('You are signed out.');
}

// ---------------------------------------------------------------- frame

const dom = {};

function drawShell() {
  const { user } = ctx.me;
  dom.conn = h('span', { class: 'conn', testid: 'live-status', 'data-state': 'connecting', role: 'status' },
    h('span', { class: 'conn-dot', 'aria-hidden': 'true' }), h('span', { class: 'conn-text' }, 'Connecting…'));
  dom.nav = h('ul', {}, NAV.map((n) => h('li', {},
    h('a', { href: href(n.id), 'data-section': n.id, testid: `nav-${n.id}` }, n.label))));
  dom.main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  root.replaceChildren(
    h('a', { class: 'skip-link', href: '#main', onclick: (e) => { e.preventDefault(); dom.main.focus(); } }, 'Skip to content'),
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: href('sessions') },
        h('span', { class: 'brand-dot', 'aria-hidden': 'true' }, 'K'), h('span', { class: 'brand-name' }, 'Kassa')),
      h('span', { class: `mode mode-${ctx.mode}`, testid: 'mode' }, ctx.playground ? 'Playground' : 'Live'),
      dom.conn,
      h('span', { class: 'who' },
        h('span', { class: 'who-email', testid: 'user-email', title: user.merchant_name ? `${user.email} · ${user.merchant_name}` : user.email }, user.email),
        user.role === 'viewer' ? h('span', { class: 'who-role', testid: 'read-only' }, 'Viewer · read only') : null),
      h('button', { type: 'button', class: 'btn btn-bar', testid: 'sign-out', onclick: (e) => signOut(e.currentTarget) }, 'Sign out')),
    h('div', { class: 'layout' },
      h('nav', { class: 'sidenav', 'aria-label': 'Portal' }, dom.nav),
      dom.main));
  renderConn(ctx.feed?.state || 'connecting');
}

function renderConn(state) {
  if (!dom.conn) return;
  dom.conn.dataset.state = state;
  dom.conn.querySelector('.conn-text').textContent =
    { online: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' }[state] || state;
  dom.conn.title = state === 'online' ? 'Updates arrive as they happen' : 'No live updates right now: retrying';
}

// ---------------------------------------------------------------- routing

let current = null; // {route, scope}

function newScope() {
  const cleanups = [];
  return {
    alive: true,
    /** fn(events, {resync}) for each batch from the live feed while this page is shown. */
    onFeed(fn) { if (ctx.feed) cleanups.push(ctx.feed.subscribe(fn)); },
    every(ms, fn) { const t = setInterval(() => { if (document.visibilityState === 'visible') fn(); }, ms); cleanups.push(() => clearInterval(t)); },
    later(ms, fn) { const t = setTimeout(fn, ms); cleanups.push(() => clearTimeout(t)); },
    dispose() { this.alive = false; cleanups.splice(0).forEach((f) => f()); },
  };
}

async function route({ focus = true } = {}) {
  if (!ctx.me) return;
  const r = parseRoute(location.hash);
  current?.scope.dispose();
  const scope = newScope();
  current = { route: r, scope };
  for (const a of dom.nav.querySelectorAll('a')) {
    if (a.dataset.section === r.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page = PAGES[r.page];
  // The first page waits (briefly) for the feed's starting point, so nothing that happens
  // between the page's first read and the feed's first poll goes unseen.
  await Promise.race([ctx.feed?.ready, new Promise((res) => setTimeout(res, 1500))]);
  if (current?.scope !== scope) return;
  let view;
  try {
    view = page ? page.render(ctx, r, scope) : notFound();
  } catch (e) {
    console.error(e);
    view = h('div', {}, errorBox(e));
  }
  dom.main.replaceChildren(view);
  document.title = `${view.dataset.title || 'Portal'} · Kassa`;
  dom.main.dataset.page = r.page;
  if (focus) (dom.main.querySelector('h1') || dom.main).focus({ preventScroll: false });
  window.scrollTo(0, 0);
}

function notFound() {
  return h('div', { 'data-title': 'Not found' },
    h('div', { class: 'page-head' }, h('div', { class: 'page-title' }, h('h1', { tabindex: '-1' }, 'Nothing here'))),
    h('div', { class: 'card' }, h('p', {}, 'This address is not a page of the portal. '),
      h('a', { href: href('sessions') }, 'Go to sessions')));
}

window.addEventListener('hashchange', () => route());
window.addEventListener('unhandledrejection', (e) => {
  // Last line of defence: an error is shown, never silently swallowed.
  toast([String(e.reason?.message || e.reason || 'Unexpected error')]);
});

boot();
