// Devices: who is online now (re-read on every event of the feed and every 10 s, since
// presence itself sends no event), rename, move and unpair; pairing a new POS with a one-time
// code and its QR code (`/pos#enroll=<code>`: a phone's camera opens the web POS, which pairs
// itself); pending codes; in playground, a simulated device.

import {
  h, pageHeader, section, loading, emptyState, errorBox, time, table, swap, field, select,
  dialog, confirm, invalid, coalesce, shortId, toast, copyButton,
} from './ui.js';
import { href } from './routes.js';
import { sleep } from '../shared/http.js';
import { qrSvg } from '../shared/qr.js';
import { formatAgo, formatDateTime } from '../shared/format.js';

const PRESENCE_MS = 10000;

export function render(ctx, route, scope) {
  const list = h('div', {}, loading());
  const pending = h('div', {}, loading());
  let locations = [];
  let lastJson = null;

  let located;
  const locationsRead = new Promise((resolve) => { located = resolve; });
  const reload = coalesce(async () => {
    try {
      const [devices, locs] = await Promise.all([ctx.api.devices.all(), ctx.api.locations.all()]);
      if (!scope.alive) return;
      locations = locs;
      located();
      const json = JSON.stringify([devices, locs]);
      if (json === lastJson) return refreshAgo();
      lastJson = json;
      draw(devices);
    } catch (e) {
      if (scope.alive) swap(list, errorBox(e, { retry: reload }));
    }
  });

  const reloadPending = coalesce(async () => {
    try {
      const [page] = await Promise.all([ctx.api.enrollments.list({ page_size: 50 }), Promise.race([locationsRead, sleep(3000)])]);
      if (!scope.alive) return;
      const open = page.content.filter((e) => e.status === 'PENDING');
      swap(pending, open.length
        ? table({
          caption: 'Pairing codes not used yet', testid: 'enrollments-table',
          rows: open, key: (e) => e.enrollment_id,
          columns: [
            { label: 'For location', cell: (e) => locName(e.location_id) },
            { label: 'Expires', cell: (e) => time(e.expires_at) },
            ctx.canChange ? { label: 'Actions', cell: (e) => h('button', {
              type: 'button', class: 'btn btn-ghost btn-sm', 'data-fk': `revoke:${e.enrollment_id}`,
              onclick: () => confirm({
                title: 'Cancel this pairing code?', text: 'Nobody can pair a device with it afterwards.', confirmLabel: 'Cancel code',
                action: () => ctx.api.enrollments.remove(e.enrollment_id),
              }).then((done) => done && reloadPending()),
            }, 'Cancel code') } : null,
          ].filter(Boolean),
        })
        : h('p', { class: 'muted small' }, 'No unused pairing codes. A code is shown only when it is made; cancel one here if it was shared by mistake.'));
    } catch (e) {
      if (scope.alive) swap(pending, errorBox(e));
    }
  });

  const locName = (id) => (id ? locations.find((l) => l.id === id)?.name ?? `…${shortId(id)}` : 'No location');

  function draw(devices) {
    if (!devices.length) {
      swap(list, emptyState('No devices yet',
        'Pair a POS: press “Pair a device” and scan the QR code with the phone or tablet that takes payments.',
        ctx.canChange ? pairButton() : null));
      return;
    }
    swap(list, table({
      caption: 'Devices, newest first', testid: 'devices-table', rowTestid: 'device-row',
      rows: devices, key: (d) => d.id,
      columns: [
        { label: 'Name', cell: (d) => h('span', { class: 'name-cell' },
          h('strong', { testid: 'device-name' }, d.name || `Device …${shortId(d.id)}`),
          h('span', { class: 'muted small' }, [labelPlatform(d), d.metadata?.simulated === 'true' ? 'simulated' : null].filter(Boolean).join(' · '))) },
        { label: 'Presence', cell: (d) => presence(d) },
        { label: 'Location', cell: (d) => locName(d.location_id) },
        { label: 'Paired', cell: (d) => time(d.created_at) },
        { label: 'Sessions', cell: (d) => h('a', { href: href('sessions', null, { device_id: d.id }) }, 'View sessions') },
        ctx.canChange ? { label: 'Actions', cell: (d) => h('span', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn btn-ghost btn-sm', testid: 'device-edit', 'data-fk': `edit:${d.id}`, onclick: () => edit(d) }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-danger-ghost btn-sm', testid: 'device-delete', 'data-fk': `del:${d.id}`, onclick: () => remove(d) }, 'Unpair')) } : null,
      ].filter(Boolean),
    }));
  }

  function presence(d) {
    if (d.metadata?.simulated === 'true') {
      return h('span', { class: 'presence', 'data-online': 'simulated', testid: 'device-presence' },
        h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', {}, 'Simulated'),
        h('span', { class: 'muted small' }, ' · always ready: simulate taps from a session'));
    }
    const online = d.online;
    return h('span', { class: 'presence', 'data-online': online ? 'true' : 'false', testid: 'device-presence' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', {}, online ? 'Online' : 'Offline'),
      h('span', { class: 'muted small ago', 'data-seen': d.last_seen_at || '' },
        d.last_seen_at ? ` · seen ${formatAgo(d.last_seen_at)}` : ' · never connected'));
  }

  function refreshAgo() {
    for (const el of list.querySelectorAll('[data-seen]')) {
      if (el.dataset.seen) el.textContent = ` · seen ${formatAgo(el.dataset.seen)}`;
    }
  }

  async function edit(d) {
    const name = h('input', { name: 'name', value: d.name || '', maxlength: '255', testid: 'device-name-input', required: true });
    const loc = select('location_id', [['', 'No location'], ...locations.map((l) => [l.id, l.name])], d.location_id || '', { testid: 'device-location-input' });
    const done = await dialog({
      title: 'Edit device', testid: 'device-dialog', submitLabel: 'Save',
      body: [field('Name', name, 'Shown on the POS and in this portal'), field('Location', loc)],
      onSubmit: async () => {
        if (!name.value.trim()) invalid(name, 'Give the device a name.');
        if (!loc.value && d.location_id) invalid(loc, 'A device cannot be taken out of its location, only moved to another one.');
        const body = { name: name.value.trim() };
        if (loc.value) body.location_id = loc.value;
        return ctx.api.devices.update(d.id, body);
      },
    });
    if (done) { toast(['Device saved'], 'ok'); reload(); }
  }

  async function remove(d) {
    const done = await confirm({
      title: `Unpair “${d.name || 'this device'}”?`,
      testid: 'device-delete-dialog',
      text: 'Its token stops working at once; the POS shows the pairing screen. Its past sessions stay. A device with an open session cannot be unpaired.',
      confirmLabel: 'Unpair device',
      action: () => ctx.api.devices.remove(d.id),
    });
    if (done) { toast(['Device unpaired'], 'ok'); reload(); }
  }

  const pairButton = () => h('button', { type: 'button', class: 'btn btn-primary', testid: 'pair-device', onclick: () => pair(ctx, locations).then(() => { reload(); reloadPending(); }) }, 'Pair a device');
  const simButton = () => h('button', { type: 'button', class: 'btn btn-ghost', testid: 'add-simulated', onclick: () => addSimulated(ctx, locations).then(reload) }, 'Add simulated device');

  reload();
  reloadPending();
  scope.onFeed(() => reload());
  scope.every(PRESENCE_MS, reload);

  return h('div', { 'data-title': 'Devices', testid: 'page-devices' },
    pageHeader('Devices', {
      subtitle: 'POS devices paired with your account. Presence updates live.',
      actions: ctx.canChange ? [pairButton(), ctx.playground ? simButton() : null].filter(Boolean) : [],
    }),
    h('section', { class: 'card', 'aria-label': 'Devices' }, list),
    section('Unused pairing codes', pending, { testid: 'enrollments' }));
}

const labelPlatform = (d) => ({ WEB: 'Web POS', IOS: 'iOS', ANDROID: 'Android', TERMINAL: 'Terminal' }[d.platform] || d.platform);

/** Make a one-time code and show it with its QR code until the merchant closes the dialog. */
async function pair(ctx, locations) {
  const loc = select('location_id', [['', 'No location'], ...locations.map((l) => [l.id, l.name])], locations[0]?.id || '', { testid: 'enroll-location' });
  await dialog({
    title: 'Pair a device',
    testid: 'enroll-dialog',
    submitLabel: 'Make a pairing code',
    body: [
      h('p', { class: 'muted' }, 'Kassa makes a one-time code, valid for 2 hours. Scan its QR code with the phone or tablet that will take payments: the web POS opens and pairs itself.'),
      field('Location of the device', loc),
    ],
    onSubmit: async () => {
      const e = await ctx.api.enrollments.create(loc.value ? { location_id: loc.value } : {});
      return enrollmentCard(e);
    },
  });
}

/** The code, its QR code of `<origin>/pos#enroll=<code>`, and the same link to open here. */
export function enrollmentCard(e) {
  const link = `${location.origin}/pos#enroll=${encodeURIComponent(e.enrollment_code)}`;
  let qr;
  try {
    qr = h('div', { class: 'qr', testid: 'enroll-qr', 'data-value': link, role: 'img', 'aria-label': `QR code of the pairing link for code ${e.enrollment_code}`, html: qrSvg(link, { ecl: 'M' }) });
    qr.querySelector('svg')?.setAttribute('aria-hidden', 'true');
  } catch {
    qr = null;
  }
  return h('div', { class: 'enroll' },
    qr,
    h('div', { class: 'enroll-text' },
      h('p', { class: 'muted small' }, 'Enrollment code'),
      h('p', { class: 'enroll-code', testid: 'enroll-code' }, e.enrollment_code, copyButton(e.enrollment_code, 'Copy code')),
      h('p', { class: 'small muted' }, `Valid until ${formatDateTime(e.expires_at)}, once.`),
      h('p', { class: 'small' }, 'No camera? Open ', h('code', {}, `${location.origin}/pos`), ' on the device and type the code, or ',
        h('a', { href: link, target: '_blank', rel: 'noopener', testid: 'enroll-link' }, 'open the pairing link'), '.'),
      // The link carries this page's address: one a phone cannot reach makes a useless QR code.
      /^(localhost|127\.|\[::1\])/.test(location.hostname)
        ? h('p', { class: 'small notice', testid: 'enroll-local-note' },
          `This address (${location.host}) is this computer only: another device cannot open it. `
          + 'Open the portal at the server’s network address (e.g. KASSA_BIND=0.0.0.0:8080) to pair a phone by camera.')
        : null));
}

async function addSimulated(ctx, locations) {
  const name = h('input', { name: 'name', value: 'Simulated till', maxlength: '255', testid: 'sim-device-name', required: true });
  const loc = select('location_id', [['', 'No location'], ...locations.map((l) => [l.id, l.name])], locations[0]?.id || '');
  await dialog({
    title: 'Add a simulated device', testid: 'sim-device-dialog', submitLabel: 'Add device',
    body: [h('p', { class: 'muted' }, 'Playground: a device with no screen. Create test sessions for it and simulate the card tap on the session’s page.'),
      field('Name', name), field('Location', loc)],
    onSubmit: async () => {
      if (!name.value.trim()) invalid(name, 'Give the device a name.');
      await ctx.api.devices.createSimulated({ name: name.value.trim(), ...(loc.value ? { location_id: loc.value } : {}) });
      toast(['Simulated device added'], 'ok');
      return true;
    },
  });
}

