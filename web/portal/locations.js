// Locations (stores, sites): create, edit, delete. A location with devices cannot be deleted;
// the server says so (409) and the message is shown as it comes.

import {
  h, pageHeader, loading, emptyState, errorBox, time, table, swap, field, dialog, confirm,
  invalid, coalesce, toast,
} from './ui.js';
import { href } from './routes.js';

const FIELDS = [
  ['name', 'Name', { required: true, help: 'As your staff call it, e.g. “Drottninggatan store”' }],
  ['street_address', 'Street address', {}],
  ['street_address2', 'Address line 2', {}],
  ['postal_code', 'Postal code', {}],
  ['city', 'City', {}],
  ['country', 'Country', { help: 'Two-letter code, e.g. SE', maxlength: '2' }],
];

export function render(ctx, route, scope) {
  const list = h('div', {}, loading());
  let lastJson = null;

  const reload = coalesce(async () => {
    try {
      const [locs, devices] = await Promise.all([ctx.api.locations.all(), ctx.api.devices.all().catch(() => [])]);
      if (!scope.alive) return;
      const json = JSON.stringify([locs, devices.map((d) => d.location_id)]);
      if (json === lastJson) return;
      lastJson = json;
      draw(locs, devices);
    } catch (e) {
      if (scope.alive) swap(list, errorBox(e, { retry: reload }));
    }
  });

  function draw(locs, devices) {
    if (!locs.length) {
      swap(list, emptyState('No locations yet', 'Add your first store or site: devices and sessions can then be grouped by it.',
        ctx.canChange ? addButton() : null));
      return;
    }
    const count = (id) => devices.filter((d) => d.location_id === id).length;
    swap(list, table({
      caption: 'Locations', testid: 'locations-table', rowTestid: 'location-row',
      rows: locs, key: (l) => l.id,
      columns: [
        { label: 'Name', cell: (l) => h('strong', { testid: 'location-name' }, l.name) },
        { label: 'Address', cell: (l) => address(l) || h('span', { class: 'muted' }, '—') },
        { label: 'Devices', cell: (l) => h('a', { href: href('devices') }, String(count(l.id))) },
        { label: 'Sessions', cell: (l) => h('a', { href: href('sessions', null, { location_id: l.id }) }, 'View sessions') },
        { label: 'Created', cell: (l) => time(l.created_at) },
        ctx.canChange ? { label: 'Actions', cell: (l) => h('span', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn btn-ghost btn-sm', testid: 'location-edit', 'data-fk': `edit:${l.id}`, onclick: () => edit(l) }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-danger-ghost btn-sm', testid: 'location-delete', 'data-fk': `del:${l.id}`, onclick: () => remove(l, count(l.id)) }, 'Delete')) } : null,
      ].filter(Boolean),
    }));
  }

  async function edit(l) {
    const inputs = Object.fromEntries(FIELDS.map(([name, , o]) => [name, h('input', {
      name, value: l?.[name] || '', maxlength: o.maxlength || '255', testid: `location-input-${name}`,
      autocomplete: 'off', required: o.required ? true : null,
    })]));
    const done = await dialog({
      title: l ? 'Edit location' : 'Add a location',
      testid: 'location-dialog',
      submitLabel: l ? 'Save' : 'Add location',
      body: FIELDS.map(([name, label, o]) => field(label, inputs[name], o.help)),
      onSubmit: async () => {
        if (!inputs.name.value.trim()) invalid(inputs.name, 'Give the location a name.');
        const country = inputs.country.value.trim().toUpperCase();
        if (country && !/^[A-Z]{2}$/.test(country)) invalid(inputs.country, 'Use a two-letter country code such as SE.');
        const body = { name: inputs.name.value.trim() };
        for (const [name] of FIELDS.slice(1)) {
          const v = name === 'country' ? country : inputs[name].value.trim();
          if (v) body[name] = v;
        }
        return l ? ctx.api.locations.update(l.id, body) : ctx.api.locations.create(body);
      },
    });
    if (done) { toast([l ? 'Location saved' : 'Location added'], 'ok'); reload(); }
  }

  async function remove(l, devices) {
    const done = await confirm({
      title: `Delete “${l.name}”?`,
      testid: 'location-delete-dialog',
      text: devices
        ? `${devices} device${devices === 1 ? ' is' : 's are'} assigned here: move ${devices === 1 ? 'it' : 'them'} to another location first, or Kassa refuses.`
        : 'Unused pairing codes for it must be cancelled first (Devices page). Its past sessions keep their location id. This cannot be undone.',
      confirmLabel: 'Delete location',
      action: () => ctx.api.locations.remove(l.id),
    });
    if (done) { toast(['Location deleted'], 'ok'); reload(); }
  }

  const addButton = () => h('button', { type: 'button', class: 'btn btn-primary', testid: 'add-location', onclick: () => edit(null) }, 'Add location');

  reload();
  return h('div', { 'data-title': 'Locations', testid: 'page-locations' },
    pageHeader('Locations', { subtitle: 'Your stores and sites.', actions: ctx.canChange ? [addButton()] : [] }),
    h('section', { class: 'card', 'aria-label': 'Locations' }, list));
}

function address(l) {
  return [l.street_address, l.street_address2, [l.postal_code, l.city].filter(Boolean).join(' '), l.country]
    .filter(Boolean).join(', ');
}
