// The studio page's one state machine (static/studio/state.js): saving, conflicts,
// failures and the render beside them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  CONFLICT_MESSAGE, INITIAL, Machine, canEdit, fraction, renderText, rendering, saveText, transition,
} from '../../static/studio/state.js';

const run = (events, from = INITIAL) => events.reduce(transition, from);
const loaded = { type: 'loaded', episode: { render: null } };

test('an edit waits, is saved, and all is saved again', () => {
  let s = run([loaded]);
  assert.equal(s.save, 'idle');
  assert.equal(saveText(s), 'All changes saved.');
  s = run([{ type: 'edited' }], s);
  assert.equal(s.save, 'pending');
  s = run([{ type: 'save' }], s);
  assert.equal(saveText(s), 'Saving…');
  s = run([{ type: 'saved' }], s);
  assert.equal(s.save, 'idle');
});

test('an edit made while saving is saved next, not lost', () => {
  const s = run([loaded, { type: 'edited' }, { type: 'save' }, { type: 'edited' }, { type: 'saved' }]);
  assert.equal(s.save, 'pending');
  assert.equal(run([{ type: 'save' }, { type: 'saved' }], s).save, 'idle');
});

test('nothing is edited or saved before the page has loaded', () => {
  assert.equal(run([{ type: 'edited' }]).save, 'loading');
  assert.equal(canEdit(INITIAL), false);
  assert.equal(run([{ type: 'save' }]).save, 'loading');
  assert.equal(run([loaded, { type: 'save' }]).save, 'idle', 'nothing waiting: no save');
});

test('a conflict says so, takes no edits, and ends when the state is loaded again', () => {
  let s = run([loaded, { type: 'edited' }, { type: 'save' }, { type: 'conflict' }]);
  assert.equal(s.save, 'conflict');
  assert.equal(saveText(s), CONFLICT_MESSAGE);
  assert.match(CONFLICT_MESSAGE, /Someone else changed this part a moment ago\. Your change was not saved; you now see theirs\./);
  assert.equal(canEdit(s), false);
  assert.equal(run([{ type: 'edited' }], s).save, 'conflict', 'edits wait for the reload');
  assert.equal(run([{ type: 'saved' }], s).save, 'conflict', 'a late answer changes nothing');
  s = run([loaded], s);
  assert.equal(s.save, 'idle');
  assert.equal(canEdit(s), true);
});

test('a failed save says why and the next edit tries again', () => {
  let s = run([loaded, { type: 'edited' }, { type: 'save' }, { type: 'failed', message: 'No connection.' }]);
  assert.equal(saveText(s), 'Not saved: No connection.');
  s = run([{ type: 'edited' }], s);
  assert.equal(s.save, 'pending');
  assert.equal(s.message, '');
});

test('a render goes from asked for to running to done, with its progress', () => {
  let s = run([loaded, { type: 'render_requested' }]);
  assert.equal(rendering(s), true);
  assert.equal(renderText(s), 'Waiting to start making the episode…');
  s = run([{ type: 'render', render: { state: 'running', progress: 42 } }], s);
  assert.equal(s.render.progress, 0.42);
  assert.equal(renderText(s), 'Making the episode: 42% done.');
  s = run([{ type: 'render', render: { state: 'done', progress: 100 } }], s);
  assert.equal(rendering(s), false);
  assert.equal(s.render.progress, 1);
  assert.match(renderText(s), /ready/);
  s = run([{ type: 'render', render: { state: 'failed', progress: 10, error: 'Entry 3 was withdrawn.' } }], s);
  assert.equal(renderText(s), 'Making the episode did not work: Entry 3 was withdrawn.');
});

test('saving and rendering do not disturb each other', () => {
  const s = run([loaded, { type: 'render_requested' }, { type: 'edited' }, { type: 'save' }, { type: 'saved' }]);
  assert.equal(s.save, 'idle');
  assert.equal(s.render.state, 'queued');
  const t = run([{ type: 'render', render: { state: 'running', progress: 50 } }], run([{ type: 'edited' }], s));
  assert.equal(t.save, 'pending');
});

test("the episode's render comes with it when loaded", () => {
  const s = run([{ type: 'loaded', episode: { render: { state: 'running', progress: 5 } } }]);
  assert.equal(s.render.state, 'running');
  assert.equal(run([{ type: 'loaded', episode: { render: null } }], s).render.state, 'none');
});

test('progress is a percentage, held to 0..100', () => {
  assert.equal(fraction(1), 0.01);
  assert.equal(fraction(250), 1);
  assert.equal(fraction(undefined), 0);
});

test('the machine tells the page only when something changed', () => {
  const seen = [];
  const m = new Machine((state, before, event) => seen.push([before.save, state.save, event.type]));
  m.send(loaded);
  m.send({ type: 'save' });  // nothing waiting: no change
  m.send({ type: 'edited' });
  assert.deepEqual(seen, [['loading', 'idle', 'loaded'], ['idle', 'pending', 'edited']]);
});
