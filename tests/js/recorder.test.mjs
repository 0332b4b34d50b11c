// The pure parts of static/kiosk/recorder.js (capture itself runs in Chromium's tests).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { constraintsFor, fileFor, levelOf, pickMime, warnBefore } from '../../static/kiosk/recorder.js';

test('the first type the browser can record is chosen', () => {
  const chromium = (t) => t.startsWith('audio/webm') || t.startsWith('video/webm');
  const safari = (t) => t.endsWith('mp4');
  assert.equal(pickMime('audio', chromium), 'audio/webm;codecs=opus');
  assert.equal(pickMime('video', chromium), 'video/webm;codecs=vp8,opus');
  assert.equal(pickMime('audio', safari), 'audio/mp4');
  assert.equal(pickMime('audio', () => false), '');
  assert.equal(pickMime('audio', undefined), '');
});

test('the file name follows the type', () => {
  assert.deepEqual(fileFor('audio/mp4', 'audio'), { type: 'audio/mp4', filename: 'recording.mp4' });
  assert.deepEqual(fileFor('', 'video'), { type: 'video/webm', filename: 'recording.webm' });
  assert.deepEqual(fileFor(undefined, 'audio'), { type: 'audio/webm', filename: 'recording.webm' });
});

test('the level meter runs from -60 dB (empty) to -10 dB (full)', () => {
  assert.equal(levelOf(new Float32Array(1024)), 0);
  assert.equal(levelOf(new Float32Array(1024).fill(1)), 100);
  const quiet = levelOf(new Float32Array(1024).fill(10 ** (-35 / 20)));  // -35 dB
  assert.ok(Math.abs(quiet - 50) < 0.01, quiet);
  assert.equal(levelOf([]), 0);
});

test('the warning comes a minute before the end, or half-way for short limits', () => {
  assert.equal(warnBefore(900), 60);
  assert.equal(warnBefore(4), 2);
  assert.equal(warnBefore(90), 45);
});

test('sound alone never asks for the camera', () => {
  assert.equal(constraintsFor('audio').video, undefined);
  assert.ok(constraintsFor('audio').audio.echoCancellation);
  assert.equal(constraintsFor('video').video.facingMode, 'user');
});
