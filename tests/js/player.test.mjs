// The web player's pure parts (static/player/cues.js): reading cues, the line and chapter
// being heard, the transcript's search, and the page's state machine.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  cueAt, fold, initial, lastStarted, marks, readCues, search, step, summary,
} from '../../static/player/cues.js';

const RAW = [
  { start: '0', end: '2', text: 'The day centre was warm.' },
  { start: '2.000', end: '4.5', text: 'The tea was good and the staff listened.' },
  { start: 'soon', end: '5', text: 'A line with a broken time.' },
  { start: '6', end: '8', text: 'Café au lait, TEA again.' },
];

test('cues are read from what the page carries; a broken one is dropped', () => {
  const cues = readCues(RAW);
  assert.deepEqual(cues.map((c) => [c.index, c.start, c.end]), [[0, 0, 2], [1, 2, 4.5], [3, 6, 8]]);
  assert.equal(cues[2].text, 'Café au lait, TEA again.');
  assert.deepEqual(readCues([{ start: '3', end: 'x', text: 'no end' }])[0].end, 3,
                   'a cue without a usable end ends where it starts');
  assert.deepEqual(readCues([{ start: '-1', end: '2', text: 'negative' }]), []);
  assert.deepEqual(readCues([]), []);
});

test('the line being heard', () => {
  const cues = readCues(RAW);
  assert.equal(cueAt(cues, -1), -1, 'before the first line');
  assert.equal(cueAt(cues, 0), 0);
  assert.equal(cueAt(cues, 1.99), 0);
  assert.equal(cueAt(cues, 2), 1, 'a line starts where the last ends');
  assert.equal(cueAt(cues, 5), 1, 'kept through the silence before the next line');
  assert.equal(cueAt(cues, 6.5), 2);
  assert.equal(cueAt(cues, 8), -1, 'none once the last line has ended');
  assert.equal(cueAt([], 3), -1);
  const many = Array.from({ length: 1000 }, (_, i) => ({ start: i * 3, end: i * 3 + 2 }));
  assert.equal(cueAt(many, 1500.5), 500);
  assert.equal(lastStarted([{ start: 0 }, { start: 10 }], 9.9), 0);
});

test('search folds case and accents and needs every word', () => {
  const cues = readCues(RAW);
  assert.deepEqual(search(cues, 'tea'), [1, 2]);
  assert.deepEqual(search(cues, '  TEA   good '), [1], 'every word, any order, any case');
  assert.deepEqual(search(cues, 'cafe'), [2], 'accents folded');
  assert.deepEqual(search(cues, 'café'), [2]);
  assert.deepEqual(search(cues, 'coffee'), []);
  assert.deepEqual(search(cues, '   '), [0, 1, 2], 'no words: every line');
  assert.equal(fold('Ça Va').folded, 'ca va');
});

test('matches are marked in the original text', () => {
  assert.deepEqual(marks('Café au lait, TEA again.', 'cafe tea'), [
    { text: 'Café', match: true }, { text: ' au lait, ', match: false },
    { text: 'TEA', match: true }, { text: ' again.', match: false }]);
  assert.deepEqual(marks('banana', 'ana'), [
    { text: 'b', match: false }, { text: 'anana', match: true }],
  'overlapping matches are merged');
  assert.deepEqual(marks('tea', ''), [{ text: 'tea', match: false }]);
  assert.deepEqual(marks('', 'tea'), [{ text: '', match: false }]);
  const text = 'Ünïcödé and emoji 🙂 tea';
  assert.equal(marks(text, 'tea').map((p) => p.text).join(''), text, 'nothing lost');
  assert.deepEqual(marks(text, 'unicode')[0], { text: 'Ünïcödé', match: true });
});

test('what the search says', () => {
  assert.equal(summary(3, 3, ''), '');
  assert.equal(summary(0, 3, 'coffee'), 'No lines of the transcript match “coffee”.');
  assert.equal(summary(2, 3, ' tea '), '2 of 3 lines match “tea”.');
  assert.equal(summary(3, 3, 'the'), 'All 3 lines match “the”.');
});

test('the page state follows the audio, the search and the reader', () => {
  const cues = readCues(RAW);
  const chapters = readCues([{ start: '0' }, { start: '5' }]);
  const model = { cues, chapters };
  let state = initial();
  assert.deepEqual(state, { current: -1, chapter: -1, query: '', shown: null, follow: true });
  assert.equal(initial({ follow: false }).follow, false, 'reduced motion starts without following');

  state = step(state, { type: 'time', t: 2.5 }, model);
  assert.equal(state.current, 1);
  assert.equal(state.chapter, 0);
  state = step(state, { type: 'time', t: 7 }, model);
  assert.deepEqual([state.current, state.chapter], [2, 1]);

  state = step(state, { type: 'search', query: ' tea ' }, model);
  assert.equal(state.query, 'tea');
  assert.deepEqual(state.shown, [1, 2]);
  assert.equal(state.current, 2, 'searching does not move the audio');
  state = step(state, { type: 'search', query: '' }, model);
  assert.equal(state.shown, null);

  state = step(state, { type: 'follow', on: false }, model);
  assert.equal(state.follow, false);
  state = step(state, { type: 'ended' }, model);
  assert.equal(state.current, -1);
  const same = step(state, { type: 'unknown' }, model);
  assert.equal(same, state, 'an event it does not know changes nothing');
});
