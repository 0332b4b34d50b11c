// The upload decisions of static/kiosk/upload.js (the tus and fetch calls themselves are
// covered by the Chromium tests against a real server).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  afterUploadError, entryBody, entryOutcome, retryDelays, tusShouldRetry, uploadIdFrom,
} from '../../static/kiosk/upload.js';

test('tus keeps trying for hours before giving up', () => {
  const delays = retryDelays();
  const hours = delays.reduce((a, b) => a + b, 0) / 3_600_000;
  assert.ok(hours > 8, `${hours} hours`);
  assert.equal(delays[0], 0);
});

test('which failed requests tus retries by itself', () => {
  for (const status of [0, 500, 502, 503, 409, 423]) assert.equal(tusShouldRetry(status), true, status);
  for (const status of [400, 403, 404, 413, 429]) assert.equal(tusShouldRetry(status), false, status);
});

test('a full quota on creating the upload keeps the recording and waits', () => {
  assert.deepEqual(afterUploadError(429, 'POST'), { reason: 'full', wait: 60000, refreshToken: false });
  assert.deepEqual(afterUploadError(413, 'POST'), { reason: 'full', wait: 60000, refreshToken: false });
  assert.equal(afterUploadError(413, 'PATCH').reason, 'problem');
  assert.deepEqual(afterUploadError(400, 'PATCH'), { reason: 'problem', wait: 5000, refreshToken: true });
  assert.equal(afterUploadError(0, undefined).reason, 'retry');
});

test('the upload id is the last part of its URL', () => {
  assert.equal(uploadIdFrom('http://127.0.0.1/kiosk/uploads/abc123/?x=1#y'), 'abc123');
});

test('the entry body carries the upload and its checksum, or the text', () => {
  const consent = { audience: 'team', voice: 'disguise', panel_quotes: false };
  assert.deepEqual(entryBody({ kind: 'audio', consent, promptId: 3, uploadId: 'u', sha256: 'ab' }),
    { kind: 'audio', consent, prompt_id: 3, upload_id: 'u', sha256: 'ab' });
  assert.deepEqual(entryBody({ kind: 'text', consent, promptId: null, text: 'hi' }),
    { kind: 'text', consent, prompt_id: null, text: 'hi' });
});

test('what each answer to making the entry leads to', () => {
  const audio = { kind: 'audio' };
  assert.equal(entryOutcome(201, '', audio, 0), 'done');
  assert.equal(entryOutcome(200, '', audio, 0), 'done');  // the same entry again
  assert.equal(entryOutcome(400, 'csrf_failed', audio, 0), 'token');
  assert.equal(entryOutcome(400, 'csrf_failed', audio, 3), 'failed');
  for (const status of [503, 500, 429, 408]) assert.equal(entryOutcome(status, '', audio, 9), 'retry');
  assert.equal(entryOutcome(404, '', audio, 0), 'again');
  assert.equal(entryOutcome(409, 'checksum_mismatch', audio, 0), 'again');
  assert.equal(entryOutcome(404, '', { kind: 'audio', sentAgain: true }, 0), 'failed');
  assert.equal(entryOutcome(409, 'upload_already_used', audio, 0), 'saved');
  assert.equal(entryOutcome(404, '', { kind: 'text' }, 0), 'failed');
  assert.equal(entryOutcome(422, 'invalid', audio, 0), 'failed');
});

test('a retried entry carries the same Idempotency-Key, so the server makes one entry', async () => {
  const { Uploader } = await import('../../static/kiosk/upload.js');
  const sent = [];
  let calls = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    sent.push({ url, headers: init.headers, body: JSON.parse(init.body) });
    calls += 1;
    if (calls === 1) throw new TypeError('the reply was lost');  // as a dropped connection
    return new Response(JSON.stringify({ id: 7, receipt_code: 'amber-otter-lake-27' }),
      { status: 200 });
  };
  const confirmed = [];
  const store = { confirmed: async (r) => { confirmed.push(r.id); }, update: async () => {} };
  const seen = {};
  const view = { progress() {}, problem: (reason) => { seen.problem = reason; },
    failed: (m) => { seen.failed = m; }, done: (data) => { seen.done = data; } };
  const record = { id: 'rec-42', kind: 'text', text: 'hello', promptId: null,
    consent: { audience: 'team', voice: 'disguise', panel_quotes: false } };
  try {
    await new Uploader({ uploads: '/u', entries: '/kiosk/entries', csrf: () => 't', store })
      .save(record, view);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(sent.length, 2);
  assert.deepEqual(sent.map((s) => s.headers['Idempotency-Key']), ['rec-42', 'rec-42']);
  assert.equal(seen.problem, 'retry');
  assert.deepEqual(seen.done, { id: 7, receipt_code: 'amber-otter-lake-27' });
  assert.deepEqual(confirmed, ['rec-42']);  // only now may the kiosk forget it
});
