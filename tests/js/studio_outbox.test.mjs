// A co-host's recording on its way (static/studio/outbox.js): kept in the kiosk's store
// until the server has it, uploaded with the kiosk's Uploader (here over a hand-written
// tus that drops the connection once), then named to the episode, then forgotten.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KEPT, RecordStore } from '../../static/kiosk/store.js';
import { Uploader } from '../../static/kiosk/upload.js';
import {
  Outbox, addAsPart, offerText, problemText, recordOf, recordingOutcome, unsentFor,
} from '../../static/studio/outbox.js';

function memory() {
  const rows = new Map();
  return {
    rows,
    put: async (r) => { rows.set(r.id, structuredClone(r)); },
    delete: async (id) => { rows.delete(id); },
    all: async () => [...rows.values()],
  };
}

/** tus as the Uploader drives it: each start() sends some bytes, the connection drops
 *  (while ``drops`` last), tus retries by itself, and the rest arrives. */
function fakeTus(log, { drops = 1 } = {}) {
  let left = drops;
  return {
    Upload: class {
      constructor(blob, options) { Object.assign(this, { blob, options }); }

      start() {
        const o = this.options;
        log.push(o.uploadUrl ? `resume ${o.uploadUrl}` : 'create');
        this.url = o.uploadUrl || '/podcast/uploads/0123456789abcdef0123456789abcdef';
        o.onUploadUrlAvailable();
        o.onProgress(this.blob.size / 2, this.blob.size);
        while (left > 0) {
          left -= 1;
          log.push('dropped');
          assert.equal(o.onShouldRetry({ originalResponse: null }), true, 'tus keeps trying');
        }
        o.onProgress(this.blob.size, this.blob.size);
        o.onSuccess();
      }
    },
  };
}

class ApiError extends Error {
  constructor(status, code, message) { super(message); Object.assign(this, { status, code }); }
}

function setup({ answers, drops = 1 }) {
  const backend = memory();
  const store = new RecordStore(backend);
  const log = [];
  const uploader = new Uploader({ uploads: '/podcast/uploads', entries: null, store,
    csrf: () => 't', tus: fakeTus(log, { drops }) });
  const named = [];
  const waits = [];
  let tokens = 0;
  const outbox = new Outbox({
    store, uploader, wait: async (ms) => { waits.push(ms); },
    refreshCsrf: async () => { tokens += 1; },
    name: async (uploadId) => {
      named.push({ uploadId, stored: [...backend.rows.keys()] });
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    },
  });
  const seen = { progress: [], problems: [] };
  const view = { progress: (f) => seen.progress.push(f),
    problem: (reason, message) => seen.problems.push([reason, message || '']) };
  return { backend, store, log, outbox, named, waits, seen, view, tokens: () => tokens };
}

const TAKE = { blob: new Blob(['a'.repeat(1000)], { type: 'audio/webm' }), type: 'audio/webm',
  filename: 'recording.webm', duration: 3.2 };
const WHO = { episodeId: 4, userId: 9 };

test('kept before sending, resumed after a drop, and forgotten only once the server has it', async () => {
  const s = setup({ answers: [{ id: 31, status: 'processing' }] });
  const record = await s.store.keep(recordOf(TAKE, { id: 'r1', ...WHO }), 1000);
  assert.deepEqual([...s.backend.rows.keys()], ['r1'], 'kept before a byte is sent');
  const result = await s.outbox.send(record, s.view);
  assert.deepEqual(result, { recording: { id: 31, status: 'processing' } });
  assert.deepEqual(s.log, ['create', 'dropped']);
  assert.deepEqual(s.seen.problems, [['retry', '']], 'the page is told the connection dropped');
  assert.equal(s.seen.progress.at(-1), 1);
  assert.deepEqual(s.named, [{ uploadId: '0123456789abcdef0123456789abcdef', stored: ['r1'] }],
    'the upload is named while the record is still kept');
  assert.deepEqual([...s.backend.rows.keys()], [], 'forgotten after the 201');
});

test('a reload resumes the upload where it stopped, and a lost answer is asked again', async () => {
  const s = setup({ answers: [new ApiError(0, 'network', 'no connection'), { id: 5 }], drops: 0 });
  const record = await s.store.keep({ ...recordOf(TAKE, { id: 'r2', ...WHO }),
    uploadUrl: '/podcast/uploads/feedfeedfeedfeedfeedfeedfeedfeed' });
  const result = await s.outbox.send(record, s.view);
  assert.deepEqual(result, { recording: { id: 5 } });
  assert.deepEqual(s.log, ['resume /podcast/uploads/feedfeedfeedfeedfeedfeedfeedfeed']);
  assert.deepEqual(s.seen.problems.map(([reason]) => reason), ['retry']);
  assert.deepEqual(s.waits, [2000]);
  assert.equal(s.named.length, 2);
});

test('an upload the server lost is sent again once; a stale token is fetched again', async () => {
  const s = setup({ answers: [new ApiError(400, 'csrf_failed', 'stale'),
    new ApiError(422, 'upload_not_found', 'no such upload'), { id: 6 }], drops: 0 });
  const record = await s.store.keep(recordOf(TAKE, { id: 'r3', ...WHO }));
  assert.deepEqual(await s.outbox.send(record, s.view), { recording: { id: 6 } });
  assert.equal(s.tokens(), 1);
  assert.deepEqual(s.log, ['create', 'create'], 'the bytes went twice');
  assert.equal(record.sentAgain, true);
});

test('a refusal keeps the recording here; an earlier try that got there is not sent twice', async () => {
  const refused = setup({ answers: [new ApiError(422, 'too_long', 'This recording is too long.')],
    drops: 0 });
  const record = await refused.store.keep(recordOf(TAKE, { id: 'r4', ...WHO }));
  assert.deepEqual(await refused.outbox.send(record, refused.view),
    { error: 'This recording is too long.' });
  assert.deepEqual([...refused.backend.rows.keys()], ['r4'], 'still here: send again or delete');

  const saved = setup({ answers: [new ApiError(422, 'upload_already_used', 'used')], drops: 0 });
  const again = await saved.store.keep({ ...recordOf(TAKE, { id: 'r5', ...WHO }),
    uploadId: 'feedfeedfeedfeedfeedfeedfeedfeed' });
  assert.deepEqual(await saved.outbox.send(again, saved.view), { saved: true });
  assert.deepEqual(saved.log, [], 'nothing uploaded again');
  assert.deepEqual([...saved.backend.rows.keys()], []);
});

test('one record is sent once at a time', async () => {
  const s = setup({ answers: [{ id: 1 }], drops: 0 });
  const record = await s.store.keep(recordOf(TAKE, { id: 'r6', ...WHO }));
  const [first, second] = await Promise.all([s.outbox.send(record, s.view),
    s.outbox.send(record, s.view)]);
  assert.deepEqual(first, { recording: { id: 1 } });
  assert.match(second.error, /being sent already/);
  assert.equal(s.named.length, 1);
});

test('the server answer decides the next step as for a kiosk entry; no answer is waited out', () => {
  const audio = { kind: 'audio' };
  assert.equal(recordingOutcome(0, 'network', audio, 0), 'retry');
  assert.equal(recordingOutcome(201, '', audio, 0), 'done');
  assert.equal(recordingOutcome(503, '', audio, 0), 'retry');
  assert.equal(recordingOutcome(400, 'csrf_failed', audio, 0), 'token');
  assert.equal(recordingOutcome(422, 'upload_incomplete', audio, 0), 'again');
  assert.equal(recordingOutcome(422, 'upload_already_used', audio, 0), 'saved');
  assert.equal(recordingOutcome(422, 'unsupported_media', audio, 0), 'failed');
});

test('only this person\'s recordings for this episode are offered, newest first', () => {
  const r = (id, created, who = WHO, extra = {}) => ({ id, created, state: KEPT, blob: TAKE.blob,
    ...who, ...extra });
  const records = [r('old', 1), r('new', 5), r('theirs', 9, { episodeId: 4, userId: 2 }),
    r('elsewhere', 9, { episodeId: 7, userId: 9 }), r('gone', 9, WHO, { state: 'sent' })];
  assert.deepEqual(unsentFor(records, WHO).map((x) => x.id), ['new', 'old']);
});

test('the offer and the problems are said in plain words', () => {
  const made = new Date(2025, 2, 14, 9, 5).getTime();
  assert.equal(offerText({ created: made, duration: 75.4 }),
    'You have a recording that was not sent yet (1:15 long, made on 14 March at 09:05).');
  assert.equal(offerText({ created: made }),
    'You have a recording that was not sent yet (made on 14 March at 09:05).');
  assert.match(problemText('retry'), /^The connection dropped\. Your recording is safe on this computer/);
  assert.match(problemText('full'), /other recordings still being sent/);
  assert.equal(problemText('problem', 'The server is busy.'),
    'The server is busy. Your recording is safe on this computer; it is tried again shortly.');
  const rec = recordOf(TAKE, { id: 'x', ...WHO });
  assert.deepEqual({ ...rec, blob: null }, { id: 'x', kind: 'audio', blob: null, type: 'audio/webm',
    filename: 'recording.webm', duration: 3.2, episodeId: 4, userId: 9, uploadUrl: null, uploadId: null });
});

test('adding the part waits out a stale episode version and a dropped connection', async () => {
  const failures = [new ApiError(409, 'conflict', 'changed'), new ApiError(0, 'network', 'none')];
  let refreshed = 0;
  const waits = [];
  const added = await addAsPart(async () => { if (failures.length) throw failures.shift(); },
    { refresh: async () => { refreshed += 1; }, wait: async (ms) => { waits.push(ms); } });
  assert.equal(added, true);
  assert.equal(refreshed, 1);
  assert.deepEqual(waits, [4000]);

  const never = await addAsPart(async () => { throw new ApiError(503, '', 'busy'); },
    { refresh: async () => {}, wait: async () => {}, tries: 3 });
  assert.equal(never, false, 'then it is listed under the recordings not in the episode');
  await assert.rejects(addAsPart(async () => { throw new ApiError(422, 'x', 'No.'); },
    { refresh: async () => {} }), /No\./);
});
