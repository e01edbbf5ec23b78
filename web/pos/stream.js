// Keeps the POS told about its sessions: a WebSocket push stream when it can,
// polling when it can't. Frames only say "session X changed"; the app always
// re-reads the session over HTTP, so a lost or duplicated frame is harmless.

const POLL_INTERVAL_MS = 2000;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const CONNECT_TIMEOUT_MS = 10000;

export class DeviceLink {
  /**
   * @param {object} o
   * @param {() => string} o.url              stream URL (token included)
   * @param {() => Promise<any>} o.listOpen    GET of the device's open sessions
   * @param {(id: string, status?: string) => void} o.onHint   a frame named a session
   * @param {(sessions: object[]) => void} o.onOpenSessions    result of a catch-up/poll
   * @param {(state: 'connecting'|'online'|'offline') => void} o.onState
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.stopped = true;
    this.failures = 0;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.connectTimer = null;
    this.polling = false;
    this.onWake = () => { if (!this.stopped && !this.isOpen()) this.reconnectNow(); };
    this.onVisible = () => { if (document.visibilityState === 'visible') this.onWake(); };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onWake);
    document.addEventListener('visibilitychange', this.onVisible);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onWake);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    this.stopPolling();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
  }

  isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Fetch the open sessions once (used on connect and on demand). */
  async catchUp() {
    try {
      const page = await this.o.listOpen();
      if (this.stopped) return;
      const list = Array.isArray(page) ? page : (page?.content || []);
      this.o.onOpenSessions(list);
    } catch {
      // The caller's API layer already handled 401; anything else is
      // transient and the next poll or frame will catch up.
    }
  }

  reconnectNow() {
    clearTimeout(this.reconnectTimer);
    this.failures = 0;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.o.onState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.o.url());
    } catch {
      this.handleDown();
      return;
    }
    this.ws = ws;
    // A handshake that hangs (captive proxy, sleeping laptop) would otherwise
    // leave us "connecting" forever without polling.
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, CONNECT_TIMEOUT_MS);

    ws.onopen = () => {
      clearTimeout(this.connectTimer);
      this.failures = 0;
      this.stopPolling();
      this.o.onState('online');
      // The server replays open sessions as frames, but a list read costs
      // little and also tells us about a session that ended while we were away.
      this.catchUp();
    };
    ws.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      const id = frame?.sessionId || frame?.session_id;
      if (typeof id === 'string' && id) this.o.onHint(id, frame.status);
    };
    ws.onerror = () => { /* a close event always follows */ };
    ws.onclose = () => {
      clearTimeout(this.connectTimer);
      if (this.ws === ws) this.ws = null;
      this.handleDown();
    };
  }

  handleDown() {
    if (this.stopped) return;
    this.o.onState('offline');
    // Polling also discovers a revoked token: a refused WebSocket handshake
    // shows no status code to scripts, but the 401 on the poll does.
    this.startPolling();
    this.failures++;
    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - 1));
    const delay = exp * (0.8 + Math.random() * 0.4); // jitter: don't reconnect in lockstep
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    const tick = async () => {
      if (!this.polling || this.stopped) return;
      await this.catchUp();
      if (this.polling && !this.stopped) this.pollTimer = setTimeout(tick, POLL_INTERVAL_MS);
    };
    tick();
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
  }
}
