// Tests of the portal's live loop against a fake API. Run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Feed } from './feed.js';
import { ApiError } from '../shared/http.js';

const ev = (id, session = 's1') => ({ id, type: 'ipp.session.created', data: { session_id: session } });

/** A fake API whose feed answers from a script of pages (or errors), then waits forever. */
function fakeApi({ newest = 's1', own = [ev('e1'), ev('e2')], script = [] } = {}) {
  const calls = [];
  return {
    calls,
    sessions: { list: async () => ({ content: newest ? [{ session_id: newest }] : [] }) },
    events: {
      list: async (params, opts = {}) => {
        calls.push(params);
        if (params.session_id) return { events: own, next_cursor: own.at(-1)?.id || null };
        if (!params.wait) return { events: [], next_cursor: params.after || null };
        const next = script.shift();
        if (next instanceof Error) throw next;
        if (next) return next;
        return new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(new ApiError(0, 'ABORTED', ['x']))));
      },
    },
  };
}

test('starts at the newest session’s last event and hands on new events', async () => {
  const api = fakeApi({ script: [{ events: [ev('e3'), ev('e4', 's2')], next_cursor: 'e4' }] });
  const feed = new Feed(api);
  const got = [];
  feed.subscribe((events) => got.push(...events.map((e) => e.id)));
  feed.start();
  await feed.ready;
  assert.equal(feed.state, 'online');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got, ['e3', 'e4']);
  assert.equal(api.calls.find((c) => c.wait).after, 'e2', 'the first long-poll starts after the tail');
  assert.equal(feed.cursor, 'e4');
  feed.stop();
});

test('a cursor past retention starts again at the end and asks pages to re-read', async () => {
  const api = fakeApi({ script: [new ApiError(400, 'BAD_VALUE', ['after: no such event'])] });
  const feed = new Feed(api);
  const infos = [];
  feed.subscribe((events, info) => infos.push(info));
  feed.start();
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(infos.some((i) => i.resync), 'subscribers are told to resync');
  feed.stop();
});

test('no session yet: the loop starts from the beginning of the feed', async () => {
  const api = fakeApi({ newest: null });
  const feed = new Feed(api);
  feed.start();
  await feed.ready;
  assert.equal(feed.cursor, null);
  feed.stop();
});

test('a 401 stops the loop (the app shows the sign-in page)', async () => {
  const api = fakeApi({ script: [new ApiError(401, 'UNAUTHORIZED', ['expired'])] });
  const feed = new Feed(api);
  feed.start();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(feed.running, false);
  assert.equal(feed.state, 'offline');
});
