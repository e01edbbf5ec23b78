// The sign-in page: email and password for a portal user (`kassa admin user create`), or the
// demo login `kassa serve` prints on a playground's first start.

import { h, errorBox } from './ui.js';

/**
 * @param {{api: object, mode: string, notice?: string, onSignedIn: (me: object) => void}} o
 */
export function render({ api, mode, notice, onSignedIn }) {
  const email = h('input', {
    id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true,
    spellcheck: 'false', testid: 'login-email', 'aria-describedby': 'login-errors',
  });
  const password = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    testid: 'login-password', 'aria-describedby': 'login-errors',
  });
  const errors = h('div', { id: 'login-errors', class: 'login-errors', testid: 'login-errors' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-lg', testid: 'login-submit' }, 'Sign in');
  const form = h('form', {
    class: 'card login-card', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      if (!email.value.trim() || !password.value) {
        errors.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert' },
          h('p', { class: 'alert-title' }, 'Enter your email and password.')));
        (email.value.trim() ? password : email).focus();
        return;
      }
      submit.disabled = true;
      submit.classList.add('is-busy');
      try {
        const me = await api.login(email.value.trim(), password.value);
        onSignedIn(me);
      } catch (err) {
        errors.replaceChildren(loginError(err));
        password.value = '';
        password.focus();
      } finally {
        submit.disabled = false;
        submit.classList.remove('is-busy');
      }
    },
  },
  h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'K'),
    h('span', { class: `mode mode-${mode}` }, mode === 'live' ? 'Live' : 'Playground')),
  h('h1', {}, 'Sign in to Kassa'),
  h('p', { class: 'muted' }, 'The merchant portal: sessions, devices, webhooks and keys.'),
  notice ? h('p', { class: 'notice', role: 'status', testid: 'login-notice' }, notice) : null,
  h('div', { class: 'field' }, h('label', { for: 'login-email' }, 'Email'), email),
  h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
  errors,
  submit,
  mode === 'live' ? null : h('p', { class: 'muted small' },
    'Playground: the demo login is printed by ', h('code', {}, 'kassa serve'), ' on its first start. ',
    'Add users with ', h('code', {}, 'kassa admin user create'), '.'));
  setTimeout(() => email.focus(), 0);
  return h('main', { id: 'main', class: 'login-page' }, form);
}

function loginError(err) {
  if (err?.status === 401) {
    return h('div', { class: 'alert alert-error', role: 'alert' }, h('p', { class: 'alert-title' }, 'Wrong email or password.'));
  }
  if (err?.status === 429) {
    const s = Math.ceil((err.retryAfterMs || 60000) / 1000);
    return h('div', { class: 'alert alert-error', role: 'alert' },
      h('p', { class: 'alert-title' }, `Too many attempts. Try again in ${s} s.`));
  }
  return errorBox(err);
}
