// One live loop for the whole portal: a long-poll of the merchant's event feed
// (`GET /ipp/v1/events?after=<cursor>&wait=25`), the same commit notices the device stream and
// webhooks are built on. Pages subscribe and re-read what an event names; nothing polls per
// row. The feed only says "something changed": the REST reads stay the source of truth, so a
// missed or repeated event costs a re-read, never a wrong screen.

import { FEED_WAIT_S } from './api.js';
import { sleep } from '../shared/http.js';

const BACKOFF_MS = [1000, 2000, 5000, 10000, 20000];

export class Feed {
  /**
   * @param {ReturnType<import('./api.js').createPortalApi>} api
   * @param {{onState?: (state: 'connecting'|'online'|'offline') => void}} [hooks]
   */
  constructor(api, { onState = () => {} } = {}) {
    this.api = api;
    this.onState = onState;
    this.subscribers = new Set();
    this.cursor = null;
    this.running = false;
    this.ctrl = null;
    this.state = 'connecting';
    /** Resolves once the loop has its starting cursor, so a page read after it misses nothing. */
    this.ready = new Promise((resolve) => { this.readyResolve = resolve; });
  }

  /**
   * fn(events, {resync}) runs for every batch of new events (oldest first), and with
   * `resync: true` (and no events) when the loop may have missed some: re-read everything.
   * Returns the unsubscribe function.
   */
  subscribe(fn) {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.ctrl?.abort();
    this.setState('offline');
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    this.onState(s);
  }

  emit(events, info = {}) {
    for (const fn of [...this.subscribers]) {
      try { fn(events, info); } catch (e) { console.error(e); }
    }
  }

  /**
   * The id of the newest event, found without reading the whole retained feed: the feed is
   * in commit order, every event belongs to a session, and the newest session's last event
   * is at (or within a few events of) the end. A cursor slightly behind the end only replays
   * a few events as "changed", which costs re-reads and nothing else.
   */
  async tail() {
    const newest = (await this.api.sessions.list({ page_size: 1 }))?.content?.[0];
    if (newest) {
      const own = await this.api.events.list({ session_id: newest.session_id, limit: 1000 });
      const last = own?.events?.at(-1);
      if (last) return last.id;
    }
    // No session, or its events are past retention: walk what is retained (little, then).
    let cursor = null;
    for (let i = 0; i < 50; i++) {
      const page = await this.api.events.list({ after: cursor || undefined, limit: 1000 });
      if (!page?.events?.length) break;
      cursor = page.events.at(-1).id;
      if (page.events.length < 1000) break;
    }
    return cursor;
  }

  async loop() {
    let failures = 0;
    let first = true;
    while (this.running) {
      try {
        if (first || this.cursor === undefined) {
          this.cursor = await this.tail();
          if (!first) this.emit([], { resync: true });
          first = false;
          this.readyResolve();
          this.setState('online'); // the server answers: the long-poll below may sit quiet for 25 s
        }
        this.ctrl = new AbortController();
        const page = await this.api.events.list(
          { after: this.cursor || undefined, wait: FEED_WAIT_S, limit: 1000 },
          { signal: this.ctrl.signal },
        );
        if (!this.running) return;
        if (failures) this.emit([], { resync: true }); // back after an outage: catch up
        failures = 0;
        this.setState('online');
        if (page?.events?.length) {
          this.cursor = page.next_cursor || page.events.at(-1).id;
          this.emit(page.events);
        }
      } catch (e) {
        if (!this.running || e?.code === 'ABORTED') return;
        if (e?.status === 401) { this.stop(); return; } // the app shows the sign-in page
        if (e?.status === 400) {
          // The cursor's event is past retention: start again at the end.
          this.cursor = undefined;
          continue;
        }
        failures++;
        this.setState('offline');
        await sleep(e?.retryAfterMs || BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1]);
      }
    }
  }
}
