// Cutting a stretch of a part's sound (the edit list's cut_ranges, seconds of the source):
// static/studio/edits.js decides the stretch and the words it takes, stretch.js says it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as E from '../../static/studio/edits.js';
import { describeStretch, stretchAt } from '../../static/studio/stretch.js';

const WORDS = [
  { text: 'So', start: 0.0, end: 0.3 },
  { text: 'I', start: 0.4, end: 0.6 },
  { text: 'went', start: 0.7, end: 1.1 },    // middle 0.9
  { text: 'home', start: 1.2, end: 1.8 },    // middle 1.5
  { text: '[NAME]' },                        // a placeholder with no times
];

test('a stretch is inside the part, either way round, in hundredths, and not a slip', () => {
  assert.deepEqual(E.stretch('1.234', '0.5', 10), [0.5, 1.23]);
  assert.deepEqual(E.stretch(-2, 3, 10), [0, 3], 'nothing before the start');
  assert.deepEqual(E.stretch(8, 12, 10), [8, 10], 'nothing after the end');
  assert.deepEqual(E.stretch(2, 3, 0), [2, 3], 'a length not known yet limits nothing');
  assert.equal(E.stretch(1, 1.04, 10), null, 'shorter than MIN_STRETCH');
  assert.equal(E.stretch('', 3, 10), null);
  assert.equal(E.stretch('two', 3, 10), null);
  assert.equal(E.stretch(null, 3, 10), null);
});

test('cut stretches are kept sorted, overlapping ones joined, and sent to the server', () => {
  let e = E.cutStretch({}, 5, 6, 10);
  e = E.cutStretch(e, 1, 2, 10);
  assert.deepEqual(e.cut_ranges, [[1, 2], [5, 6]]);
  e = E.cutStretch(e, 5.5, 7.25, 10);
  assert.deepEqual(e.cut_ranges, [[1, 2], [5, 7.25]], 'overlapping: one stretch');
  e = E.cutStretch(e, 2, 3, 10);
  assert.deepEqual(e.cut_ranges, [[1, 3], [5, 7.25]], 'touching: one stretch');
  assert.deepEqual(E.compact(e), { cut_ranges: [[1, 3], [5, 7.25]] });
  assert.deepEqual(E.cutStretch(e, 4, 4.01, 10), e, 'no stretch, no change');
  assert.deepEqual(E.normalise({ cut_ranges: [[4, 5], [0, 1], [0.5, 2]] }).cut_ranges,
    [[0, 2], [4, 5]], 'as the server may hold them');
});

test('putting a stretch back removes that one only, and undo brings it again', () => {
  const e = E.cutStretch(E.cutStretch({}, 1, 2, 10), 5, 6, 10);
  assert.deepEqual(E.putBackStretch(e, 0).cut_ranges, [[5, 6]]);
  assert.deepEqual(E.putBackStretch(e, 1).cut_ranges, [[1, 2]]);
  assert.deepEqual(E.putBackStretch(e, 7).cut_ranges, [[1, 2], [5, 6]]);
  let h = E.history({});
  h = E.change(h, e);
  h = E.change(h, E.putBackStretch(e, 0));
  assert.equal(E.isDirty(h), true);
  assert.deepEqual(E.undo(h).present.cut_ranges, [[1, 2], [5, 6]]);
});

test('a word goes with a stretch when its middle is cut, as the server hears it', () => {
  assert.deepEqual(E.wordsInStretches(WORDS, [[0.8, 1.6]]), [2, 3]);
  assert.deepEqual(E.wordsInStretches(WORDS, [[0.95, 1.6]]), [3], 'went keeps its middle');
  assert.deepEqual(E.wordsInStretches(WORDS, [[0.9, 1.5]]), [], 'a middle on the edge is heard');
  assert.deepEqual(E.wordsInStretches(WORDS, [[0, 0.2], [1.3, 9]]), [0, 3]);
  assert.deepEqual(E.wordsInStretches(WORDS, []), []);
  assert.deepEqual(E.wordsInStretches([{ text: 'x', start: null, end: null }], [[0, 9]]), [],
    'a word with no times is not taken by a stretch');
});

test('a stretch is said in the seconds the boxes use, and found by a time inside it', () => {
  assert.equal(describeStretch([1.2, 2.5]), 'from 1.20 s to 2.50 s (1.30 s)');
  assert.equal(stretchAt([[1, 2], [5, 6]], 5), 1);
  assert.equal(stretchAt([[1, 2], [5, 6]], 3), -1);
});
