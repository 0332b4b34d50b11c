// The keep-until-201 rules of static/kiosk/store.js over an in-memory backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KEPT, RecordStore, staleFingerprints, stillHere } from '../../static/kiosk/store.js';

function memory() {
  const rows = new Map();
  return {
    rows,
    put: async (r) => { rows.set(r.id, structuredClone(r)); },
    delete: async (id) => { rows.delete(id); },
    all: async () => [...rows.values()],
  };
}

test('a kept record is stored before anything else happens, and stays until confirmed', async () => {
  const backend = memory();
  const store = new RecordStore(backend);
  const record = await store.keep({ id: 'a', kind: 'audio' }, 1000);
  assert.equal(record.state, KEPT);
  assert.deepEqual([...backend.rows.keys()], ['a']);
  await store.wipeUnkept();
  assert.deepEqual([...backend.rows.keys()], ['a'], 'leaving never wipes a kept record');
  await store.confirmed(record);
  assert.deepEqual(await store.kept(), []);
});

test('wiping deletes what was not kept and lists the kept newest first', async () => {
  const backend = memory();
  const store = new RecordStore(backend);
  await backend.put({ id: 'draft', state: 'draft' });
  await backend.put({ id: 'old', state: KEPT, touchedAt: 1 });
  await backend.put({ id: 'new', state: KEPT, touchedAt: 5 });
  const kept = await store.wipeUnkept();
  assert.deepEqual(kept.map((r) => r.id), ['new', 'old']);
  assert.deepEqual([...backend.rows.keys()].sort(), ['new', 'old']);
});

test('no storage at all: keeping still gives a record to send from memory', async () => {
  const broken = { put: async () => { throw new Error('quota'); }, delete: async () => {},
    all: async () => { throw new Error('gone'); } };
  const store = new RecordStore(broken);
  const record = await store.keep({ id: 'x' });
  assert.equal(record.id, 'x');
  assert.deepEqual(await store.wipeUnkept(), []);
});

test('stale tus fingerprints are those no kept upload needs', () => {
  const entries = [
    ['tus::one::1', '{"uploadUrl":"/kiosk/uploads/aaa"}'],
    ['tus::two::1', '{"uploadUrl":"/kiosk/uploads/bbb"}'],
    ['other', 'kept'],
  ];
  assert.deepEqual(staleFingerprints(entries, ['/kiosk/uploads/aaa']), ['tus::two::1']);
  assert.deepEqual(staleFingerprints(entries, []), ['tus::one::1', 'tus::two::1']);
});

test('the code is only shown if its maker is very likely still here', () => {
  assert.equal(stillHere({ touchedAt: 10_000 }, 120, 20_000), true);
  assert.equal(stillHere({ touchedAt: 10_000 }, 5, 20_000), false);
  assert.equal(stillHere({ created: 0 }, 120, 10 ** 9), false);
});
