// The kiosk's one transition table and the flow built on it (static/kiosk/screens.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ANYWHERE, Flow, SCREENS, TRANSITIONS, stepOf, target } from '../../static/kiosk/screens.js';

function walk(flow, ...events) {
  return events.map((e) => (Array.isArray(e) ? flow.send(e[0], e[1]) : flow.send(e)));
}

test('every target names a screen in the table', () => {
  const contexts = [];
  for (const kind of ['audio', 'video', 'text']) {
    for (const hasCards of [true, false]) {
      for (const discardFrom of [null, 'write', 'review']) contexts.push({ kind, hasCards, discardFrom });
    }
  }
  for (const [screen, row] of Object.entries({ ...TRANSITIONS, '*': ANYWHERE })) {
    for (const event of Object.keys(row)) {
      for (const ctx of contexts) {
        const to = target(screen === '*' ? 'welcome' : screen, event, ctx);
        assert.ok(SCREENS.includes(to), `${screen} --${event}--> ${to}`);
      }
    }
  }
});

test('every screen can be reached from the welcome screen, and left', () => {
  const seen = new Set(['welcome']);
  let grew = true;
  while (grew) {
    grew = false;
    for (const screen of [...seen]) {
      for (const event of Object.keys(TRANSITIONS[screen])) {
        for (const kind of ['audio', 'text']) {
          for (const hasCards of [true, false]) {
            const to = target(screen, event, { kind, hasCards, discardFrom: 'review' });
            if (!seen.has(to)) { seen.add(to); grew = true; }
          }
        }
      }
    }
  }
  assert.deepEqual([...seen].sort(), [...SCREENS].sort());
  for (const screen of SCREENS) assert.ok(Object.keys(TRANSITIONS[screen]).length > 0, screen);
});

test('recording with question cards: forward, then keep, then a confirmed finish', () => {
  const seen = [];
  const flow = new Flow({ hasCards: true, onChange: (to, from, event) => seen.push([from, event, to]) });
  assert.deepEqual(walk(flow, ['start', { kind: 'audio' }], 'card', 'next', 'stopped', 'keep',
    'saved', 'finish', 'no', 'finish', 'yes'),
  ['cards', 'consent', 'record', 'review', 'saving', 'receipt', 'finish-confirm', 'receipt',
    'finish-confirm', 'welcome']);
  assert.equal(flow.kind, null, 'back at the start, nothing is remembered');
  assert.deepEqual(seen[0], ['welcome', 'start', 'cards']);
});

test('recording starts within four taps of the welcome screen', () => {
  // Record with sound, Just talk, Next: start recording, then Start (on the record screen).
  const flow = new Flow({ hasCards: true });
  walk(flow, ['start', { kind: 'audio' }], 'card', 'next');
  assert.equal(flow.screen, 'record');
});

test('writing without cards goes write, consent, saving', () => {
  const flow = new Flow({ hasCards: false });
  assert.deepEqual(walk(flow, ['start', { kind: 'text' }], 'next', 'next', 'saved'),
    ['write', 'consent', 'saving', 'receipt']);
});

test('back retraces the forward moves', () => {
  const flow = new Flow({ hasCards: true });
  walk(flow, ['start', { kind: 'audio' }], 'card', 'next');
  assert.deepEqual(walk(flow, 'back', 'back', 'back'), ['consent', 'cards', 'welcome']);
  walk(flow, ['start', { kind: 'text' }], 'card', 'next');
  assert.deepEqual(walk(flow, 'back', 'back'), ['write', 'cards']);
  const bare = new Flow({ hasCards: false });
  walk(bare, ['start', { kind: 'video' }]);
  assert.equal(bare.screen, 'consent');
  assert.equal(bare.send('back'), 'welcome');
});

test('"No, go back" on throwing away returns to where it was asked', () => {
  const flow = new Flow({ hasCards: false });
  walk(flow, ['start', { kind: 'text' }], 'discard');
  assert.equal(flow.send('no'), 'write');
  walk(flow, 'next', 'back');
  walk(flow, 'discard', 'yes');
  assert.equal(flow.screen, 'welcome');
  walk(flow, ['start', { kind: 'audio' }], 'next', 'stopped', 'discard');
  assert.equal(flow.send('no'), 'review');
});

test('a move a screen does not offer is refused and changes nothing', () => {
  const changes = [];
  const flow = new Flow({ hasCards: true, onChange: (to) => changes.push(to) });
  assert.equal(flow.send('keep'), null);
  assert.equal(flow.send('finish'), null);
  assert.equal(flow.screen, 'welcome');
  assert.deepEqual(changes, []);
  walk(flow, ['start', { kind: 'audio' }]);
  assert.equal(flow.can('card'), true);
  assert.equal(flow.can('keep'), false);
});

test('the idle wipe goes home from anywhere and forgets the flow', () => {
  for (const screen of SCREENS) {
    const flow = new Flow({ hasCards: true });
    flow.screen = screen;
    flow.kind = 'video';
    assert.equal(flow.send('idle'), 'welcome', screen);
    assert.equal(flow.kind, null);
  }
});

test('a kept recording found after a reload shows the saving screen', () => {
  const flow = new Flow({ hasCards: true });
  assert.equal(flow.send('resume'), 'saving');
  assert.equal(flow.send('saved'), 'receipt');
});

test('changing your mind: found, withdraw (or not), done', () => {
  const flow = new Flow();
  assert.deepEqual(walk(flow, 'change', 'found', 'withdraw', 'no', 'withdraw', 'yes', 'finish'),
    ['change', 'change-found', 'withdraw', 'change-found', 'withdraw', 'change-done', 'welcome']);
  assert.deepEqual(walk(flow, 'change', 'found', 'changed'), ['change', 'change-found', 'change-done']);
});

test('step labels', () => {
  const audio = { kind: 'audio', hasCards: true };
  assert.deepEqual(stepOf('cards', audio), { n: 1, total: 5 });
  assert.deepEqual(stepOf('saving', audio), { n: 5, total: 5 });
  assert.deepEqual(stepOf('finish-confirm', audio), { n: 5, total: 5 });
  assert.deepEqual(stepOf('write', { kind: 'text', hasCards: true }), { n: 2, total: 4 });
  assert.deepEqual(stepOf('discard', { ...audio, discardFrom: 'review' }), { n: 4, total: 5 });
  assert.equal(stepOf('welcome', audio), null);
  assert.equal(stepOf('change', audio), null);
});
