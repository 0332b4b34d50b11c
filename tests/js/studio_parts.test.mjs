// The pure pieces of the studio's parts list, transcript, waveform and render panel.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { quarter } from '../../static/studio/render.js';
import { dropTarget, reorder } from '../../static/studio/timeline.js';
import { sameWords, span, wordAt } from '../../static/studio/transcript.js';
import { cutSpans, peaksFor, splitStyles } from '../../static/studio/waveform.js';

test('a dragged part lands where it was dropped', () => {
  const ids = [10, 11, 12, 13];
  // Dropped before the part now at 3 (13): taken out from 0, it goes to place 2.
  assert.equal(dropTarget(0, 3), 2);
  assert.deepEqual(reorder(ids, 0, dropTarget(0, 3)), [11, 12, 10, 13]);
  assert.deepEqual(reorder(ids, 3, dropTarget(3, 0)), [13, 10, 11, 12]);
  assert.deepEqual(reorder(ids, 1, dropTarget(1, 4)), [10, 12, 13, 11], 'at the end');
  assert.equal(dropTarget(2, 2), 2, 'dropped on itself: no move');
  assert.equal(dropTarget(2, 3), 2, 'just below itself: no move either');
});

test('a selection is the words between its two ends, in either order', () => {
  assert.equal(span(null), null);
  assert.deepEqual(span({ anchor: 5, focus: 2 }), [2, 5]);
  assert.deepEqual(span({ anchor: 1, focus: 1 }), [1, 1]);
});

test('words sent again unchanged are not drawn again (the keyboard stays on its word)', () => {
  const words = [{ text: 'so', start: 0, end: 0.3 }, { text: 'um', start: 0.4, end: 0.8 }];
  assert.equal(sameWords(words, structuredClone(words)), true);
  assert.equal(sameWords(words, [words[0]]), false);
  assert.equal(sameWords(words, [words[0], { ...words[1], end: 0.9 }]), false);
  assert.equal(sameWords([], []), true);
});

test('the word being said is the last one started', () => {
  const words = [{ start: 0.5 }, { start: 1.0 }, { start: 2.0 }];
  assert.equal(wordAt(words, 0.1), -1);
  assert.equal(wordAt(words, 1.0), 1);
  assert.equal(wordAt(words, 9), 2);
  assert.equal(wordAt([], 1), -1);
});

test("wavesurfer's <style> is taken out of its HTML, so the policy has nothing to refuse", () => {
  const { css, html } = splitStyles('\n<style nonce="x">:host { a: b }</style>\n<div class="scroll"></div><STYLE>.c{}</STYLE>');
  assert.equal(css, ':host { a: b }\n.c{}');
  assert.equal(html.includes('<style'), false);
  assert.equal(html.includes('STYLE'), false);
  assert.match(html, /<div class="scroll"><\/div>/);
});

test("the server's peaks become one channel for wavesurfer, flat or nested", () => {
  assert.deepEqual(peaksFor({ duration: 2, peaks: [0.1, -0.2] }), { peaks: [[0.1, -0.2]], duration: 2 });
  assert.deepEqual(peaksFor({ duration: 2, peaks: [[0.1, -0.2]] }), { peaks: [[0.1, -0.2]], duration: 2 });
  assert.deepEqual(peaksFor(null), { peaks: [[]], duration: 0 });
});

test('cut words and ranges are drawn at their times', () => {
  const words = [{ start: 0, end: 0.4 }, { start: 0.5, end: 0.9 }, { start: 1.0, end: 1.2 }];
  assert.deepEqual(cutSpans({ cut_words: [[1, 2]], cut_ranges: [[3, 4]] }, words), [[0.5, 1.2], [3, 4]]);
  assert.deepEqual(cutSpans({ cut_words: [[5, 6]] }, words), [], 'words it does not have');
  const ums = [{ text: 'so', start: 0, end: 0.3 }, { text: 'Um,', start: 0.4, end: 0.8 }];
  assert.deepEqual(cutSpans({ remove_fillers: true }, ums), [[0.4, 0.8]]);
  assert.deepEqual(cutSpans({ remove_fillers: false }, ums), []);
});

test('progress is announced a quarter at a time', () => {
  assert.deepEqual([0, 0.24, 0.25, 0.6, 0.99, 1].map(quarter), [0, 0, 1, 2, 3, 4]);
});
