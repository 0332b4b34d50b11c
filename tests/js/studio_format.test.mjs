// Words and numbers on the studio's pages (static/studio/format.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { audienceLabel, clock, decibels, entryList, kindLabel, wordSpan } from '../../static/studio/format.js';

test('times people read', () => {
  assert.equal(clock(0), '0:00.0');
  assert.equal(clock(4.24), '0:04.2');
  assert.equal(clock(9.96), '0:10', 'rounding up to ten seconds drops the tenth');
  assert.equal(clock(65.4), '1:05');
  assert.equal(clock(3600), '60:00');
  assert.equal(clock(-3), '0:00.0');
  assert.equal(clock(null), '0:00.0');
});

test('loudness with a sign screen readers say', () => {
  assert.equal(decibels(0), '0 dB');
  assert.equal(decibels('3'), '+3 dB');
  assert.equal(decibels(-6), '−6 dB');
});

test('words are counted from 1, as people do', () => {
  assert.equal(wordSpan(0, 0), 'word 1');
  assert.equal(wordSpan(4, 2), 'words 3 to 5');
});

test('names for audiences, kinds and the entries that limit an episode', () => {
  assert.equal(audienceLabel('organisation'), 'People in our organisation');
  assert.equal(audienceLabel(null), 'Not known yet');
  assert.equal(kindLabel('recording'), 'Co-host link');
  assert.equal(entryList([{ entry_id: 3 }]), 'Entry 3');
  assert.equal(entryList([{ entry_id: 3 }, { entry_id: 5 }, { entry_id: 9 }]), 'Entry 3, Entry 5 and Entry 9');
});
