// The pairing link and the saved pairing, without a browser: fake location, history and
// storage stand in for the window's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeEnrollLink, loadDevice, saveDevice, forgetDevice, STORAGE_KEY } from './pairing.js';

function fakeWindow(hash) {
  const loc = { hash, pathname: '/pos', search: '' };
  const hist = { replaced: null, replaceState(_s, _t, url) { this.replaced = url; loc.hash = ''; } };
  return { loc, hist };
}

test('a pairing link gives its code once and leaves the address bar', () => {
  const { loc, hist } = fakeWindow('#enroll=k7qxm-4tnwp');
  assert.equal(takeEnrollLink(loc, hist), 'K7QXM-4TNWP');
  assert.equal(hist.replaced, '/pos', 'the code is gone from the address');
  assert.equal(takeEnrollLink(loc, hist), null, 'single use');
  const other = fakeWindow('#x=1&enroll=K7QXM%2D4TNWP');
  assert.equal(takeEnrollLink(other.loc, other.hist), 'K7QXM-4TNWP');
  const none = fakeWindow('#settings');
  assert.equal(takeEnrollLink(none.loc, none.hist), null);
  assert.equal(none.hist.replaced, null, 'an address without a link is left alone');
});

test('the pairing survives a reload and a broken or refused storage does not throw', () => {
  const map = new Map();
  const storage = { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k) };
  assert.equal(loadDevice(storage), null);
  assert.equal(saveDevice({ id: 'd1', token: 'kdt_x', name: 'Till' }, storage), true);
  assert.deepEqual(loadDevice(storage), { id: 'd1', token: 'kdt_x', name: 'Till' });
  map.set(STORAGE_KEY, '{not json');
  assert.equal(loadDevice(storage), null);
  map.set(STORAGE_KEY, JSON.stringify({ id: 'd1' }));
  assert.equal(loadDevice(storage), null, 'a pairing without a token is no pairing');
  forgetDevice(storage);
  assert.equal(map.has(STORAGE_KEY), false);
  const full = { setItem() { throw new Error('QuotaExceededError'); } };
  assert.equal(saveDevice({ id: 'd1', token: 't' }, full), false);
});
