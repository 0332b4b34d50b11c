// The page helpers that need no page: words with values filled in, and times.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { clock, fill } from '../../static/kiosk/view.js';

test('fill puts values in by name and leaves unknown names alone', () => {
  assert.equal(fill('{n} seconds left. It stops at {max}.', { n: 30, max: '15:00' }),
    '30 seconds left. It stops at 15:00.');
  assert.equal(fill('Step {number} of {of}', { number: 2 }), 'Step 2 of {of}');
  assert.equal(fill('{percent}% saved', { percent: 0 }), '0% saved');
});

test('clock shows minutes and two-digit seconds, never below zero', () => {
  assert.equal(clock(0), '0:00');
  assert.equal(clock(9.99), '0:09');
  assert.equal(clock(75), '1:15');
  assert.equal(clock(900), '15:00');
  assert.equal(clock(-3), '0:00');
});
