// The portal's building blocks: page frame, tables that turn into cards on a phone, badges,
// money and time, errors with the API's message and correlation id, dialogs that confirm a
// change and show its error in place, toasts. Everything is built with h(), so names and
// metadata are text, never markup.

import { h } from '../shared/dom.js';
import { formatMoney, formatDateTime, formatTimestamp } from '../shared/format.js';
import { ApiError } from '../shared/http.js';

export { h };

// ---------------------------------------------------------------- page frame

/** The page heading (the only h1) with its actions on the right. */
export function pageHeader(title, { subtitle, actions = [], back } = {}) {
  return h('div', { class: 'page-head' },
    h('div', { class: 'page-title' },
      back ? h('a', { class: 'back-link', href: back.href }, '← ', back.label) : null,
      h('h1', { tabindex: '-1', testid: 'page-title' }, title),
      subtitle ? h('p', { class: 'muted page-sub' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

/** A titled card; `id` names it for aria-labelledby so screen readers announce the section. */
let sectionCount = 0;
export function section(title, body, { actions = [], testid, note } = {}) {
  const id = `sec-${++sectionCount}`;
  return h('section', { class: 'card', 'aria-labelledby': id, testid },
    h('div', { class: 'card-head' },
      h('h2', { id }, title),
      note ? h('span', { class: 'muted small' }, note) : null,
      actions.length ? h('div', { class: 'card-actions' }, actions) : null),
    body);
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading muted', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** What to do next when there is nothing to show. */
export function emptyState(title, text, action = null) {
  return h('div', { class: 'empty', testid: 'empty-state' },
    h('p', { class: 'empty-title' }, title),
    text ? h('p', { class: 'muted' }, text) : null,
    action);
}

/** An API failure as the merchant should see it: the server's words and the correlation id. */
export function errorBox(err, { retry } = {}) {
  const e = asApiError(err);
  return h('div', { class: 'alert alert-error', role: 'alert', testid: 'error' },
    h('p', { class: 'alert-title' }, errorTitle(e)),
    e.messages.length > 1 || errorTitle(e) !== e.messages[0]
      ? h('ul', {}, e.messages.map((m) => h('li', {}, m))) : null,
    e.correlationId
      ? h('p', { class: 'small correlation' }, 'Correlation id ', h('code', { testid: 'correlation-id' }, e.correlationId))
      : null,
    retry ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: retry }, 'Try again') : null);
}

export function asApiError(err) {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'CLIENT', [String(err?.message || err || 'Unexpected error')]);
}

function errorTitle(e) {
  if (e.status === 403) return `Not allowed: ${e.messages[0]}`;
  if (e.status === 0) return e.messages[0];
  if (e.messages.length === 1) return e.messages[0];
  return `The server refused this (${e.code})`;
}

// ---------------------------------------------------------------- values

export const money = (minor, currency, attrs = {}) =>
  h('span', { class: 'amount', ...attrs }, minor == null ? '—' : formatMoney(minor, currency));

/** A time in the browser's zone; the exact instant (UTC) on hover and for assistive tech. */
export function time(iso, { seconds = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: new Date(iso).toISOString() }, seconds ? formatTimestamp(iso) : formatDateTime(iso));
}

const STATUS_KIND = {
  CREATED: 'info', ACTIVE: 'warn', FINALIZED: 'ok', CANCELLED: 'neutral', EXPIRED: 'neutral', FAILED: 'bad',
  AUTHORIZED: 'info', CAPTURED: 'ok', PART_CAPTURED: 'warn', REFUNDED: 'neutral', PART_REFUNDED: 'warn',
  PENDING: 'info', CONSUMED: 'neutral', ONLINE: 'ok', OFFLINE: 'neutral', ENABLED: 'ok', DISABLED: 'bad',
  ACTIVE_KEY: 'ok', REVOKED: 'neutral',
};

export function badge(text, kind, attrs = {}) {
  return h('span', { class: `badge badge-${kind || STATUS_KIND[text] || 'neutral'}`, ...attrs }, labelize(text));
}

/** "PART_REFUNDED" → "Part refunded"; other text unchanged. */
export function labelize(s) {
  const str = String(s ?? '');
  if (!/^[A-Z0-9_]+$/.test(str)) return str;
  const words = str.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const shortId = (id) => (id ? String(id).slice(-8) : '');

/** A monospace id that can be copied with one press. */
export function idText(id, { full = false } = {}) {
  if (!id) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'id' }, h('code', { title: id }, full ? id : `…${shortId(id)}`), copyButton(id, 'Copy id'));
}

export function copyButton(text, label = 'Copy') {
  return h('button', {
    type: 'button', class: 'btn-copy', 'aria-label': label, title: label,
    onclick: async (e) => {
      const btn = e.currentTarget;
      try {
        await navigator.clipboard.writeText(text);
        btn.dataset.done = '1';
        setTimeout(() => { delete btn.dataset.done; }, 1500);
      } catch {
        toast(['Copying is not allowed here: select the text and copy it by hand.']);
      }
    },
  }, h('span', { 'aria-hidden': 'true', class: 'copy-glyph' }));
}

/** A secret the server shows once (API key, webhook signing secret). */
export function secretOnce(label, value, note) {
  return h('div', { class: 'secret', role: 'status', testid: 'secret-once' },
    h('p', { class: 'secret-label' }, label),
    h('div', { class: 'secret-row' }, h('code', { testid: 'secret-value' }, value), copyButton(value, `Copy ${label.toLowerCase()}`)),
    h('p', { class: 'small' }, note || 'Copy it now: it is shown only once and Kassa cannot show it again.'));
}

// ---------------------------------------------------------------- tables

/**
 * A real table on wide screens, stacked cards on a phone (each cell labelled by its column).
 * columns: [{label, cell: (row) => Node|string, class?}], key: row → stable id.
 */
export function table({ columns, rows, key, caption, testid, rowTestid }) {
  return h('table', { class: 'table', testid },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-key': key ? key(r) : null, testid: rowTestid },
      columns.map((c) => h('td', { 'data-label': c.label, class: c.class }, c.cell(r)))))));
}

/**
 * Replace a container's content, keeping keyboard focus on the "same" control (same
 * data-fk) when a live update redraws it, so a keyboard user is not thrown to the top.
 */
export function swap(container, ...children) {
  const active = document.activeElement;
  const fk = active && container.contains(active) ? active.dataset.fk : null;
  container.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  if (fk) container.querySelector(`[data-fk="${CSS.escape(fk)}"]`)?.focus();
}

export function pager(page, go) {
  if (!page || (page.first && page.last)) return null;
  const n = page.page_number;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: page.first, onclick: () => go(n - 1), 'data-fk': 'prev' }, '← Newer'),
    h('span', { class: 'muted small' }, `Page ${n + 1} of ${Math.max(1, page.total_pages)}`),
    h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: page.last, onclick: () => go(n + 1), 'data-fk': 'next' }, 'Older →'));
}

// ---------------------------------------------------------------- forms

let fieldCount = 0;
/** A labelled control: field('Name', input, 'help'). Gives the input an id if it has none. */
export function field(label, control, help) {
  if (!control.id) control.id = `f-${++fieldCount}`;
  const helpId = help ? `${control.id}-help` : null;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    help ? h('p', { class: 'help muted', id: helpId }, help) : null);
}

export function select(name, options, selected, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map(([value, label]) => h('option', { value, selected: String(value) === String(selected ?? '') ? true : null }, label)));
}

/** Runs an action from a button: disabled with a spinner while it runs, errors as a toast. */
export async function busy(btn, fn) {
  if (btn.disabled) return undefined;
  btn.disabled = true;
  btn.classList.add('is-busy');
  btn.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } catch (e) {
    toastError(e);
    return undefined;
  } finally {
    btn.disabled = false;
    btn.classList.remove('is-busy');
    btn.removeAttribute('aria-busy');
  }
}

// ---------------------------------------------------------------- dialogs

/** A mistake in the form itself (before any request). */
export class FormError extends Error {}

/**
 * A modal form: fields, a confirm button, and the API's error shown inside it (the dialog
 * stays open so the merchant can correct the amount). `onSubmit(form)` returns a value to
 * close with, or throws; `keepOpen` keeps the dialog up after success to show a result
 * (`onSubmit` may return a Node to show in place of the form).
 */
export function dialog({ title, body = [], submitLabel = 'Save', danger = false, onSubmit, testid, cancelLabel = 'Cancel' }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${++fieldCount}`;
    const errors = h('div', { class: 'dialog-errors', 'aria-live': 'assertive' });
    const submit = h('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, testid: 'dialog-confirm' }, submitLabel);
    const cancel = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'dialog-cancel', onclick: () => close(undefined) }, cancelLabel);
    const form = h('form', { class: 'dialog-form', novalidate: true },
      h('h2', { id: titleId }, title), body, errors, h('div', { class: 'dialog-actions' }, cancel, submit));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, testid: testid || 'dialog' }, form);
    let result;
    const close = (value) => { result = value; dlg.close(); };
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (submit.disabled) return;
      errors.replaceChildren();
      submit.disabled = true;
      submit.classList.add('is-busy');
      try {
        const value = await onSubmit(form);
        if (value instanceof Node) {
          // Show a result (a secret shown once) with a single Done button.
          form.replaceChildren(h('h2', { id: titleId }, title), value,
            h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', testid: 'dialog-done', onclick: () => close(true) }, 'Done')));
          form.querySelector('[data-testid="dialog-done"]')?.focus();
          return;
        }
        close(value === undefined ? true : value);
      } catch (err) {
        errors.replaceChildren(err instanceof FormError ? formErrorBox(err.message) : errorBox(err));
        (form.querySelector('[aria-invalid="true"]') || submit).focus();
      } finally {
        submit.disabled = false;
        submit.classList.remove('is-busy');
      }
    });
    document.body.append(dlg);
    dlg.showModal();
    // A yes/no question starts on Cancel: Enter alone must not delete or refund anything.
    (form.querySelector('input, select, textarea') || (danger ? cancel : submit)).focus();
  });
}

/** A plain yes/no confirmation for a change that cannot be undone. */
export function confirm({ title, text, confirmLabel = 'Confirm', danger = true, action, testid }) {
  return dialog({
    title, testid, danger, submitLabel: confirmLabel,
    body: [h('p', {}, text)],
    onSubmit: async () => { await action(); return true; },
  });
}

function formErrorBox(message) {
  return h('div', { class: 'alert alert-error', role: 'alert' }, h('p', { class: 'alert-title' }, message));
}

/** Marks an input invalid and throws a FormError the dialog shows. */
export function invalid(input, message) {
  input.setAttribute('aria-invalid', 'true');
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'), { once: true });
  throw new FormError(message);
}

// ---------------------------------------------------------------- toasts

export function toast(messages, kind = 'error', correlationId = null) {
  const host = document.getElementById('toasts');
  if (!host) return;
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid: 'toast' },
    messages.map((m) => h('p', {}, m)),
    correlationId ? h('p', { class: 'small' }, 'Correlation id ', h('code', {}, correlationId)) : null,
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'));
  host.append(el);
  while (host.children.length > 3) host.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 10000 : 4000);
}

export function toastError(err) {
  const e = asApiError(err);
  if (e.code === 'ABORTED') return;
  toast([errorTitle(e), ...(e.messages.length > 1 ? e.messages : [])], 'error', e.correlationId);
}

/** Re-run `fn` at most once at a time; calls during a run collapse into one more run. */
export function coalesce(fn) {
  let running = null;
  let again = false;
  return function run() {
    if (running) { again = true; return running; }
    running = (async () => {
      try {
        do { again = false; await fn(); } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
