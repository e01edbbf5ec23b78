// Kassa web POS: the controller. Owns the state, talks to the API through
// api.js, listens through stream.js and hands state to screens.js to draw.
//
// Design rule: the server is the source of truth. Every push frame, poll and
// action response ends in accept(session), which decides what to show. The UI
// state is therefore always derivable from the last session seen, and any
// failure can be healed by simply re-reading the session.

import { createApi, ApiError, streamUrl, newAttemptId } from './api.js';
import { DeviceLink } from './stream.js';
import { normalizeEnrollmentCode, formatCountdown } from '../shared/format.js';
import { STORAGE_KEY, loadDevice, saveDevice as storeDevice, forgetDevice, takeEnrollLink } from './pairing.js';
import * as S from './screens.js';

const { h } = S;
const OPEN = new Set(['CREATED', 'ACTIVE']);
const TERMINAL_RETURN_MS = 8000; // CANCELLED/EXPIRED/FAILED screens return to idle by themselves
const EXPIRY_GRACE_MS = 1500; // the server expires within 1 s of expires_at

// A live server takes real cards only through the native POS app or a card reader: a
// browser has no card reader, so this POS must not offer a tap it cannot take.
const LIVE = document.querySelector('meta[name="kassa-mode"]')?.content === 'live';

const state = {
  live: LIVE,
  device: loadDevice(), // {id, name, token, ...} or null when not paired
  conn: 'offline', // stream state: 'connecting' | 'online' | 'offline'
  session: null, // the session on screen (open, or ended and not yet dismissed)
  busy: null, // key of the action in flight, e.g. 'payment:CARD_TAP'
  changingMethod: false, // ACTIVE session shown with the method picker again
  pendingAttempt: null, // {sessionId, id}: a finalize whose answer we never got
  dismissedFailure: {}, // sessionId → attempts count whose decline the clerk has seen
  cancelledHere: new Set(), // sessions this clerk cancelled (vs. the merchant)
  autoReturnAt: null,
  pairNotice: null,
};

const dom = {
  main: document.getElementById('app'),
  topbar: document.getElementById('topbar'),
  deviceName: document.getElementById('topbar-device'),
  conn: document.querySelector('[data-testid="connection-status"]'),
  connText: document.getElementById('connection-text'),
  toasts: document.getElementById('toasts'),
  settings: document.getElementById('settings'),
};

// ---------------------------------------------------------------- storage

function saveDevice() {
  if (!storeDevice(state.device)) {
    toast(['Could not save the pairing (private browsing?). It will be lost on reload.']);
  }
}

// ---------------------------------------------------------------- API + stream

const api = createApi({
  getToken: () => state.device?.token || null,
  onUnauthorized: () => unpair('This device is no longer paired (its token was rejected). Pair it again.'),
});

let link = null;

function startLink() {
  link?.stop();
  link = new DeviceLink({
    url: () => streamUrl(state.device.token),
    listOpen: () => api.openSessions(),
    onHint: (id, status) => refresh(id, status),
    onOpenSessions,
    onState: (conn) => { state.conn = conn; renderHeader(); if (!state.session) render(); },
  });
  link.start();
}

function unpair(notice) {
  if (!state.device) return; // several 401s can arrive at once
  link?.stop();
  link = null;
  const lastName = state.device.name;
  state.device = null;
  forgetDevice();
  Object.assign(state, { session: null, busy: null, changingMethod: false, pendingAttempt: null, autoReturnAt: null, conn: 'offline' });
  state.pairNotice = notice || null;
  state.lastName = lastName;
  dom.settings.open && dom.settings.close();
  render();
}

// ---------------------------------------------------------------- reconciliation

const rank = (status) => (status === 'CREATED' ? 0 : status === 'ACTIVE' ? 1 : 2);

// Same session, same stage: the later update wins (responses can arrive out of order).
function isOlder(a, b) {
  const ta = Date.parse(a.updated_at), tb = Date.parse(b.updated_at);
  if (ta && tb && ta !== tb) return ta < tb;
  return (a.attempts || 0) < (b.attempts || 0);
}

function accept(s) {
  if (!s || !s.session_id) return;
  const cur = state.session;
  if (cur && cur.session_id === s.session_id) {
    if (rank(s.status) < rank(cur.status)) return;
    if (rank(s.status) === rank(cur.status) && isOlder(s, cur)) return;
  } else if (OPEN.has(s.status)) {
    // A new open session replaces whatever is shown (a receipt awaiting
    // "New sale" included): the register has started the next sale.
    if (cur && OPEN.has(cur.status) && Date.parse(s.created_at) < Date.parse(cur.created_at)) return;
  } else {
    return; // ended before we ever showed it (or a stale replay): not news for the clerk
  }
  const changed = !cur || cur.session_id !== s.session_id || cur.status !== s.status;
  state.session = s;
  if (changed) {
    state.changingMethod = false;
    if (!cur || cur.session_id !== s.session_id) state.pendingAttempt = null;
    state.autoReturnAt = OPEN.has(s.status) || s.status === 'FINALIZED' ? null : Date.now() + TERMINAL_RETURN_MS;
  }
  render();
}

const inflight = new Map();

/** Re-read a session; concurrent requests for the same id collapse into one more read. */
function refresh(id, hintStatus) {
  const running = inflight.get(id);
  if (running) { running.again = true; return; }
  const entry = { again: false };
  inflight.set(id, entry);
  (async () => {
    try {
      do {
        entry.again = false;
        accept(await api.getSession(id));
      } while (entry.again);
    } catch (e) {
      const cur = state.session;
      if (!cur || cur.session_id !== id || e.status === 401) return;
      if (e.status === 404) {
        state.session = null; // no longer ours (or never was): back to idle
        render();
      } else if (hintStatus && rank(hintStatus) === 2 && hintStatus !== 'FINALIZED') {
        // Can't read it now, but the frame already told us how it ended;
        // the receipt needs the order id, so FINALIZED waits for a real read.
        accept({ ...cur, status: hintStatus });
      }
    } finally {
      inflight.delete(id);
    }
  })();
}

function onOpenSessions(list) {
  const open = list.filter((s) => OPEN.has(s.status))
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  if (open[0]) accept(open[0]);
  const cur = state.session;
  // The shown session is no longer open: learn how it ended.
  if (cur && OPEN.has(cur.status) && !open.some((s) => s.session_id === cur.session_id)) refresh(cur.session_id);
}

// ---------------------------------------------------------------- actions

async function run(key, sessionId, fn) {
  if (state.busy) return;
  state.busy = key;
  render();
  try {
    await fn();
  } catch (e) {
    if (e?.status !== 401) toast(e instanceof ApiError ? e.messages : [String(e?.message || e)]);
    // Whatever failed, re-read the session so the screen matches the server
    // (e.g. 409 because the merchant cancelled a moment ago).
    if (sessionId && e?.status !== 401) refresh(sessionId);
  } finally {
    state.busy = null;
    render();
  }
}

const act = {
  async pair(rawCode, name, ui) {
    const code = normalizeEnrollmentCode(rawCode);
    const showErrors = (msgs) => {
      ui.errors.replaceChildren(...msgs.map((m) => h('p', {}, m)));
      ui.errors.hidden = false;
    };
    if (!code) { showErrors(['Enter the enrollment code shown in the merchant portal.']); ui.code.focus(); return; }
    ui.errors.hidden = true;
    ui.submit.disabled = true;
    ui.submit.classList.add('is-busy');
    try {
      const dev = await api.register(code, name);
      const token = dev?.credentials?.bearer_token;
      if (!dev?.id || !token) throw new ApiError(0, 'BAD_RESPONSE', ['The server answered without device credentials.']);
      state.device = {
        id: dev.id, token, name: dev.name || name || 'Web POS',
        merchant_id: dev.merchant_id || null, location_id: dev.location_id || null,
        metadata: dev.metadata || {}, paired_at: new Date().toISOString(),
      };
      saveDevice();
      state.pairNotice = null;
      startLink();
      render();
      toast([`Paired as “${state.device.name}”`], 'ok');
    } catch (e) {
      showErrors(e instanceof ApiError ? e.messages : [String(e?.message || e)]);
      ui.code.focus();
      ui.code.select();
    } finally {
      ui.submit.disabled = false;
      ui.submit.classList.remove('is-busy');
    }
  },

  choosePayment: (s, method) => run(`payment:${method}`, s.session_id, async () => {
    accept(await api.choosePayment(s.session_id, method));
    state.changingMethod = false;
  }),

  cancel: (s) => run('cancel', s.session_id, async () => {
    state.cancelledHere.add(s.session_id);
    try {
      accept(await api.cancel(s.session_id));
    } catch (e) {
      state.cancelledHere.delete(s.session_id);
      throw e;
    }
  }),

  finalize(s, outcome) {
    // One attempt id per attempt. If the previous call never got an answer,
    // this press is the same attempt: the server replays the first result
    // instead of charging twice.
    if (state.pendingAttempt?.sessionId !== s.session_id) {
      state.pendingAttempt = { sessionId: s.session_id, id: newAttemptId() };
    }
    const attempt = state.pendingAttempt;
    return run(`finalize:${outcome}`, s.session_id, async () => {
      let res;
      try {
        res = await api.finalize(s.session_id, attempt.id, { processor: 'simulated', outcome });
      } catch (e) {
        if (!(e instanceof ApiError && e.transient)) state.pendingAttempt = null;
        else e.messages = [...e.messages, 'The payment may not have gone through: press again to retry the same attempt.'];
        throw e;
      }
      state.pendingAttempt = null;
      if (res?.session) accept(res.session);
      else refresh(s.session_id);
    });
  },

  retry(s) {
    state.dismissedFailure[s.session_id] = s.attempts || 0;
    render();
  },

  startChangingMethod() { state.changingMethod = true; render(); },
  stopChangingMethod() { state.changingMethod = false; render(); },

  done() {
    state.session = null;
    state.autoReturnAt = null;
    render();
    link?.catchUp(); // a sale may have been created while the receipt was up
  },
};

// ---------------------------------------------------------------- rendering

function currentScreen() {
  const s = state.session;
  if (!state.device) return 'pair';
  if (!s) return 'waiting';
  if (s.status === 'CREATED' || (s.status === 'ACTIVE' && state.changingMethod)) return 'cart';
  if (s.status === 'ACTIVE') return 'tap';
  if (s.status === 'FINALIZED') return 'receipt';
  return 'terminal';
}

let lastKey = null;
let lastFailureMark = null;

function render() {
  renderHeader();
  const screen = currentScreen();
  const s = state.session;
  // Rebuild only when something visible changed, so typing, focus and
  // scroll positions survive unrelated updates (e.g. a connection blip).
  const key = JSON.stringify([screen, s?.session_id, s?.status, s?.updated_at, s?.attempts, s?.payment_method,
    state.busy, state.dismissedFailure[s?.session_id], screen === 'waiting' ? state.conn : 0,
    screen === 'pair' ? state.pairNotice : 0, state.device?.name]);
  if (key === lastKey) return;
  const sameView = lastKey && JSON.parse(lastKey)[1] === s?.session_id && JSON.parse(lastKey)[0] === screen;
  lastKey = key;

  const scroll = sameView ? [...dom.main.querySelectorAll('.lines, .screen')].map((el) => el.scrollTop) : [];
  let view;
  switch (screen) {
    case 'pair': view = S.pairScreen({ notice: state.pairNotice, defaultName: state.lastName }, act); break;
    case 'waiting': view = S.waitingScreen(state); break;
    case 'cart': view = S.cartScreen(s, state, act); break;
    case 'tap': view = S.tapScreen(s, state, act); break;
    case 'receipt': view = S.receiptScreen(s, act); break;
    default: view = S.terminalScreen(s, state, act);
  }
  dom.main.replaceChildren(view);
  // A sale on screen makes earlier "ok" notes (e.g. "Paired as …") stale; on a phone they
  // would cover the top of the cart. Errors stay until they time out or are tapped.
  if (dom.main.dataset.screen !== screen && s) dom.toasts.querySelectorAll('.toast-ok').forEach((t) => t.remove());
  dom.main.dataset.screen = screen;
  [...dom.main.querySelectorAll('.lines, .screen')].forEach((el, i) => { if (scroll[i]) el.scrollTop = scroll[i]; });
  // A new decline must be seen even if the clerk had scrolled down to the
  // simulated-card buttons on a small phone.
  const failure = dom.main.querySelector('.failure');
  if (failure && failure.dataset.mark !== lastFailureMark) failure.scrollIntoView({ block: 'center' });
  lastFailureMark = failure?.dataset.mark ?? lastFailureMark;
  tick();
}

function renderHeader() {
  dom.topbar.hidden = !state.device;
  if (!state.device) return;
  dom.deviceName.textContent = state.device.name;
  const label = { online: 'Online', connecting: 'Connecting…', offline: 'Offline' }[state.conn];
  dom.conn.dataset.state = state.conn;
  dom.conn.title = state.conn === 'online' ? 'Live connection to Kassa'
    : 'No live connection: checking for sales every 2 seconds';
  dom.connText.textContent = label;
}

function toast(messages, kind = 'error') {
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid: 'toast' },
    ...messages.map((m) => h('p', {}, m)));
  const remove = () => el.remove();
  el.addEventListener('click', remove);
  dom.toasts.append(el);
  while (dom.toasts.children.length > 3) dom.toasts.firstElementChild.remove();
  setTimeout(remove, kind === 'error' ? 8000 : 3000);
}

// ---------------------------------------------------------------- settings

function openSettings() {
  if (!state.device) return;
  dom.settings.replaceChildren(S.settingsForm(state.device, location.origin, () => unpair(null)));
  dom.settings.showModal();
}

// ---------------------------------------------------------------- clock

let lastExpiryProbe = 0;

function tick() {
  const now = Date.now();
  for (const el of dom.main.querySelectorAll('[data-countdown-to]')) {
    const left = Date.parse(el.dataset.countdownTo) - now;
    const text = el.dataset.seconds ? `${Math.max(0, Math.ceil(left / 1000))} s` : formatCountdown(left);
    el.textContent = `${el.dataset.prefix || ''}${text}`;
    if (el.dataset.urgent) el.classList.toggle('is-urgent', left < 30000);
  }
  const s = state.session;
  if (!s) return;
  if (state.autoReturnAt && now >= state.autoReturnAt && !OPEN.has(s.status) && s.status !== 'FINALIZED') {
    act.done();
    return;
  }
  // Expiry safety net for when neither frames nor polls get through quickly.
  const exp = Date.parse(s.expires_at);
  if (OPEN.has(s.status) && exp && now > exp + EXPIRY_GRACE_MS && now - lastExpiryProbe > 3000) {
    lastExpiryProbe = now;
    refresh(s.session_id);
  }
}

// ---------------------------------------------------------------- boot

document.getElementById('open-settings').addEventListener('click', openSettings);
window.addEventListener('unhandledrejection', (e) => {
  // Last line of defence: an error is shown, never silently swallowed.
  toast([String(e.reason?.message || e.reason || 'Unexpected error')]);
});
window.addEventListener('storage', (e) => {
  // Another tab paired or forgot this device: follow it instead of fighting it.
  if (e.key === STORAGE_KEY) location.reload();
});
setInterval(tick, 500);

// A pairing link from the merchant portal's QR code (`/pos#enroll=ABCDE-FGHJK`): the POS
// pairs itself with no typing.
function pairFromLink() {
  const code = takeEnrollLink();
  if (!code) return;
  if (state.device) {
    // Never drop a working pairing behind the clerk's back.
    toast([`This POS is already paired as “${state.device.name}”. To pair it with the scanned code, forget this device in Settings and scan again.`]);
    return;
  }
  render();
  const input = dom.main.querySelector('[data-testid="enroll-code"]');
  const form = input?.form;
  if (!form) return;
  input.value = code;
  form.requestSubmit();
}

window.addEventListener('hashchange', pairFromLink);

if (state.device) startLink();
render();
pairFromLink();
