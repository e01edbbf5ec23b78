// The event feed: what webhooks carry, newest first, live. The API's feed runs oldest first
// from a cursor, so history is read session by session (every event belongs to a session,
// newest sessions first) and new events arrive through the portal's one live loop.

import {
  h, pageHeader, section, loading, emptyState, errorBox, time, table, swap, field, select,
  coalesce, shortId, labelize,
} from './ui.js';
import { href } from './routes.js';
import { EVENT_TYPES } from './webhooks.js';
import { reasonLabel } from '../shared/format.js';
import { resendButton } from './session.js';

const SESSIONS_PER_LOAD = 10;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function render(ctx, route, scope) {
  const q = { type: route.query.type || '', session_id: route.query.session_id || '' };
  const list = h('div', {}, loading());
  const more = h('div', { class: 'more' });
  const type = select('type', [['', 'All types'], ...EVENT_TYPES.map((t) => [t, t])], q.type, { testid: 'events-type' });
  const sessionInput = h('input', { name: 'session_id', value: q.session_id, autocomplete: 'off', spellcheck: 'false', placeholder: 'Session id', testid: 'events-session' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter events', onsubmit: (e) => { e.preventDefault(); apply(); } },
    field('Type', type), field('Session', sessionInput, 'A session id, to see only its events'),
    h('div', { class: 'filters-actions' }, h('button', { type: 'submit', class: 'btn btn-ghost btn-sm' }, 'Apply')));
  type.addEventListener('change', () => apply());

  let events = []; // newest first
  const known = new Set();
  let sessionsPage = 0;
  let exhausted = false;
  let generation = 0;

  function apply() {
    const sid = sessionInput.value.trim();
    if (sid && !UUID.test(sid)) {
      sessionInput.setAttribute('aria-invalid', 'true');
      swap(list, errorBox(new Error('A session id looks like 0193a0b1-…: 36 characters with dashes.')));
      return;
    }
    sessionInput.removeAttribute('aria-invalid');
    q.type = type.value;
    q.session_id = sid;
    ctx.replaceQuery(href('events', null, q));
    restart();
  }

  const matches = (e) => (!q.type || e.type === q.type) && (!q.session_id || e.data?.session_id === q.session_id);

  function add(batch) {
    for (const e of batch) {
      if (known.has(e.id) || !matches(e)) continue;
      known.add(e.id);
      events.push(e);
    }
    events.sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || (b.data.sequence - a.data.sequence));
  }

  async function restart() {
    const gen = ++generation;
    events = [];
    known.clear();
    sessionsPage = 0;
    exhausted = false;
    swap(list, loading());
    swap(more);
    await loadOlder(gen);
  }

  async function loadOlder(gen = generation) {
    try {
      if (q.session_id) {
        const page = await ctx.api.events.list({ session_id: q.session_id, type: q.type, limit: 1000 });
        if (gen !== generation || !scope.alive) return;
        add(page.events);
        exhausted = true;
      } else {
        const page = await ctx.api.sessions.list({ page_number: sessionsPage, page_size: SESSIONS_PER_LOAD });
        const lists = await Promise.all(page.content.map((s) => ctx.api.events.list({ session_id: s.session_id, type: q.type, limit: 1000 })));
        if (gen !== generation || !scope.alive) return;
        for (const l of lists) add(l.events);
        sessionsPage += 1;
        exhausted = page.last || !page.content.length;
      }
      draw();
    } catch (e) {
      if (scope.alive) swap(list, errorBox(e, { retry: restart }));
    }
  }

  function draw() {
    swap(list, events.length
      ? table({
        caption: 'Events, newest first', testid: 'events-table', rowTestid: 'event-row',
        rows: events, key: (e) => e.id,
        columns: [
          { label: 'When', cell: (e) => time(e.timestamp, { seconds: true }) },
          { label: 'Type', cell: (e) => h('code', { class: 'event-type', testid: 'event-type' }, e.type) },
          { label: 'Session', cell: (e) => h('a', { href: href('session', e.data.session_id) }, e.data.merchant_reference1 || `…${shortId(e.data.session_id)}`) },
          { label: 'Change', cell: (e) => change(e) },
          { label: 'Details', cell: (e) => h('details', { class: 'json' }, h('summary', {}, h('span', { class: 'small' }, e.id)), h('pre', {}, JSON.stringify(e, null, 2))) },
          ctx.canChange ? { label: 'Actions', cell: (e) => resendButton(ctx, e) } : null,
        ].filter(Boolean),
      })
      : emptyState(q.type || q.session_id ? 'No events match' : 'No events yet',
        'Events appear here the moment a session changes: create a session, or pair a device and sell.',
        h('a', { href: href('sessions'), class: 'btn btn-ghost' }, 'Go to sessions')));
    swap(more, exhausted ? null : h('button', {
      type: 'button', class: 'btn btn-ghost', testid: 'events-more', 'data-fk': 'more',
      onclick: (ev) => { ev.currentTarget.disabled = true; loadOlder(); },
    }, 'Load older events'));
  }

  const onLive = coalesce(async () => { draw(); });
  scope.onFeed((batch, { resync } = {}) => {
    if (resync) { restart(); return; }
    const before = events.length;
    add(batch);
    if (events.length !== before) onLive();
  });

  restart();
  return h('div', { 'data-title': 'Events', testid: 'page-events' },
    pageHeader('Events', { subtitle: 'Every session event, as webhooks receive it. New ones arrive live.' }),
    section('Filters', form),
    h('section', { class: 'card', 'aria-label': 'Events' }, list, more));
}

function change(e) {
  const d = e.data || {};
  return h('span', { class: 'status-cell' },
    h('span', {}, d.previous_status ? `${labelize(d.previous_status)} → ${labelize(d.status)}` : labelize(d.status)),
    d.failure_reason ? h('span', { class: 'small muted' }, reasonLabel(d.failure_reason)) : null,
    d.order_id ? h('a', { href: href('order', d.order_id), class: 'small' }, `Order …${shortId(d.order_id)}`) : null);
}
