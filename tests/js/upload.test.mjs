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
