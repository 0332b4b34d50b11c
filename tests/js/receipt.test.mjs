// The kiosk's receipt-code normalising against the table pytest also runs against
// diaryroom.domain.receipts.normalise (tests/unit/test_receipt_codes.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { normalise, spokenWords } from '../../static/kiosk/receipt.js';

const VECTORS = JSON.parse(readFileSync(new URL('../data/receipt_codes.json', import.meta.url)));

test('the shared table has enough cases to mean something', () => {
  assert.ok(VECTORS.length >= 20);
  assert.ok(VECTORS.some((v) => v.code === null) && VECTORS.some((v) => v.code !== null));
});

for (const { typed, code, why } of VECTORS) {
  test(`normalise ${JSON.stringify(typed)} (${why})`, () => {
    assert.equal(normalise(typed), code);
  });
}

test('a canonical code normalises to itself', () => {
  for (const { code } of VECTORS.filter((v) => v.code)) assert.equal(normalise(code), code);
});

test('nothing typed is nothing', () => {
  assert.equal(normalise(undefined), null);
  assert.equal(normalise(null), null);
});

test('the spoken words are the code split at its dashes', () => {
  assert.deepEqual(spokenWords('amber-otter-lake-27'), ['amber', 'otter', 'lake', '27']);
  assert.deepEqual(spokenWords(''), []);
});
