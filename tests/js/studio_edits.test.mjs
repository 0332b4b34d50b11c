// The studio's edit list in the page (static/studio/edits.js): cuts and put-backs, trims,
// limits, the ums-and-pauses preview, and the undo stack with its unsaved changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as E from '../../static/studio/edits.js';

const WORDS = [
  { text: 'So', start: 0.0, end: 0.3 },
  { text: 'um,', start: 0.4, end: 0.9 },
  { text: 'I', start: 2.4, end: 2.5 },      // 1.5 s pause before it
  { text: 'went', start: 2.6, end: 2.9 },
  { text: 'Erm', start: 3.0, end: 3.6 },
  { text: 'home', start: 3.7, end: 4.0 },
];

test('missing keys take the defaults and keys only the server knows are kept', () => {
  const e = E.normalise({ gain_db: 3, keep_findings: [1] });
  assert.equal(e.trim_start, 0);
  assert.equal(e.trim_end, null);
  assert.deepEqual(e.cut_words, []);
  assert.equal(e.gain_db, 3);
  assert.deepEqual(e.keep_findings, [1]);
  assert.deepEqual(E.compact(E.normalise({})), {}, 'no edits is {}');
  assert.deepEqual(E.compact(e), { gain_db: 3, keep_findings: [1] });
});

test('cutting merges touching and overlapping ranges, in either order', () => {
  let e = E.cutWords({}, 5, 3);
  assert.deepEqual(e.cut_words, [[3, 5]]);
  e = E.cutWords(e, 6, 6);
  assert.deepEqual(e.cut_words, [[3, 6]], 'word 6 touches 3-5');
  e = E.cutWords(e, 9, 9);
  e = E.cutWords(e, 0, 0);
  assert.deepEqual(e.cut_words, [[0, 0], [3, 6], [9, 9]]);
  assert.equal(E.isCut(e, 4), true);
  assert.equal(E.isCut(e, 7), false);
});

test('putting back splits a cut around the words put back', () => {
  const e = E.cutWords({}, 2, 8);
  assert.deepEqual(E.putBack(e, 4, 5).cut_words, [[2, 3], [6, 8]]);
  assert.deepEqual(E.putBack(e, 0, 2).cut_words, [[3, 8]]);
  assert.deepEqual(E.putBack(e, 8, 1).cut_words, []);
  assert.deepEqual(E.putBack(e, 10, 12).cut_words, [[2, 8]], 'nothing there: unchanged');
});

test('the old edit list is never changed', () => {
  const before = E.normalise({ cut_words: [[1, 2]] });
  const frozen = JSON.stringify(before);
  E.cutWords(before, 4, 4);
  E.putBack(before, 1, 1);
  E.setTrim(before, { start: 1 }, 10);
  assert.equal(JSON.stringify(before), frozen);
});

test('trims stay inside the source and leave something', () => {
  assert.deepEqual(pick(E.setTrim({}, { start: 1.23456, end: 8 }, 10)), [1.23, 8]);
  assert.deepEqual(pick(E.setTrim({}, { start: -3, end: 20 }, 10)), [0, null], 'to the end is null');
  assert.deepEqual(pick(E.setTrim({}, { start: 5, end: 2 }, 10)), [5, 5.1], 'an end before the start');
  assert.deepEqual(pick(E.setTrim({}, { start: 12 }, 10)), [9.9, null]);
  assert.deepEqual(pick(E.setTrim({ trim_end: 6 }, { start: 2 }, 10)), [2, 6], 'the other side kept');
  assert.deepEqual(pick(E.setTrim({}, { start: 1, end: '' }, 10)), [1, null]);
});

function pick(e) {
  return [e.trim_start, e.trim_end];
}

test('gain and crossfade are held to their limits', () => {
  assert.equal(E.setGain({}, 35).gain_db, 20);
  assert.equal(E.setGain({}, -99).gain_db, -20);
  assert.equal(E.setGain({}, '3.04').gain_db, 3);
  assert.equal(E.setCrossfade({}, 9).crossfade, 5);
  assert.equal(E.setCrossfade({}, -1).crossfade, 0);
  assert.equal(E.setCrossfade({}, 'x').crossfade, 0);
});

test('ums and long pauses: what would go, and how it is said', () => {
  const p = E.removalsPreview(WORDS);
  assert.deepEqual(p.filler_words, [1, 4]);
  assert.deepEqual(p.pauses, [[1.15, 2.15]], 'a quarter of a second kept each side');
  // 0.5 + 0.6 s of ums, and a 1.5 s pause made 0.5 s
  assert.equal(p.seconds_saved, 2.1);
  assert.equal(E.describePreview(p), '2 ums, 1 pause, saves 2.1 s');
  assert.equal(E.describePreview({ filler_words: [3], pauses: [[1, 3], [4, 6]], seconds_saved: 4.06 }),
    '1 um, 2 pauses, saves 4.1 s');
  assert.equal(E.describePreview(E.removalsPreview(WORDS.slice(2, 4))),
    'No ums or long pauses found in this part.');
});

test('words already cut are not counted again', () => {
  const p = E.removalsPreview(WORDS, E.cutWords({}, 1, 1));
  assert.deepEqual(p.filler_words, [4]);
  assert.deepEqual(p.pauses, [[0.55, 2.15]], 'the pause now runs from "So" to "I"');
});

test('fillers are found whatever their case and punctuation', () => {
  for (const text of ['um', ' Um,', 'UH.', 'er', 'erm...', 'Hmm', 'mm', 'ahh', '“umm”']) assert.equal(E.isFiller(text), true, text);
  for (const text of ['umbrella', 'her', 'a', 'I', '[NAME]']) assert.equal(E.isFiller(text), false, text);
});

test('removals and findings are switched in the edit list', () => {
  const on = E.setRemovals({}, true);
  assert.equal(on.remove_fillers && on.shorten_pauses, true);
  assert.equal(E.setRemovals(on, false).remove_fillers, false);
  const kept = E.setFindingKept(E.setFindingKept({}, 2, true), 0, true);
  assert.deepEqual(kept.keep_findings, [0, 2]);
  assert.deepEqual(E.setFindingKept(kept, 2, false).keep_findings, [0]);
});

test('undo goes back one change at a time; saved edits are not dirty', () => {
  let h = E.history({ gain_db: 2 });
  assert.equal(E.isDirty(h), false);
  assert.equal(E.canUndo(h), false);
  h = E.change(h, E.cutWords(h.present, 1, 1));
  h = E.change(h, E.setGain(h.present, 5));
  assert.equal(E.isDirty(h), true);
  assert.equal(E.change(h, h.present), h, 'no change, no undo step');
  h = E.saved(h, h.present);
  assert.equal(E.isDirty(h), false);
  h = E.undo(h);
  assert.equal(h.present.gain_db, 2);
  assert.deepEqual(h.present.cut_words, [[1, 1]]);
  assert.equal(E.isDirty(h), true, 'an undo is a change to save');
  h = E.undo(E.undo(h));
  assert.deepEqual(E.compact(h.present), { gain_db: 2 });
  assert.equal(E.canUndo(h), false);
});

test("someone else's edits replace the page's and its undo stack", () => {
  let h = E.change(E.history({}), E.cutWords({}, 0, 0));
  h = E.replaced(h, { gain_db: -3 });
  assert.equal(E.canUndo(h), false);
  assert.equal(E.isDirty(h), false);
  assert.equal(h.present.gain_db, -3);
});

test('edit lists compare with their defaults filled in', () => {
  assert.equal(E.sameEdits({}, { trim_start: 0, cut_words: [] }), true);
  assert.equal(E.sameEdits({ cut_words: [[1, 2]] }, { cut_words: [[1, 1], [2, 2]] }), true);
  assert.equal(E.sameEdits({}, { gain_db: 1 }), false);
});
