// The kiosk's JSON posts: what a caller is told for each kind of answer, and one retry
// with a fresh token when the session no longer accepts the page's CSRF token.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { postJson } from '../../static/kiosk/requests.js';

const MESSAGES = { network: 'No connection.', 404: 'Not found.', 429: 'Too many tries.' };
const realFetch = globalThis.fetch;
afterEach(() => { globalThis.fetch = realFetch; });

/** A fetch that answers each call with the next of ``answers`` and records the calls. */
function answering(...answers) {
  const calls = [];
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return new Response(JSON.stringify(next.body ?? {}), { status: next.status });
  };
  return calls;
}

const meta = () => ({ content: 'token-1' });

test('a good answer gives its data, and the token went with the request', async () => {
  const calls = answering({ status: 200, body: { status: 'approved' } });
  const result = await postJson('/kiosk/lookup', { code: 'x' }, { meta: meta(), messages: MESSAGES });
  assert.deepEqual(result, { ok: true, status: 200, data: { status: 'approved' } });
  assert.equal(calls[0].init.headers['X-CSRFToken'], 'token-1');
  assert.equal(calls[0].init.body, JSON.stringify({ code: 'x' }));
});

test("the server's own words win; otherwise the caller's word for the status", async () => {
  answering({ status: 404, body: { error: { code: 'not_found', message: 'We could not find it.' } } });
  let result = await postJson('/u', {}, { meta: meta(), messages: MESSAGES });
  assert.deepEqual(result, { ok: false, status: 404, message: 'We could not find it.' });
  answering({ status: 429, body: 'not json' });
  result = await postJson('/u', {}, { meta: meta(), messages: MESSAGES });
  assert.deepEqual(result, { ok: false, status: 429, message: 'Too many tries.' });
  answering({ status: 502 });
  result = await postJson('/u', {}, { meta: meta(), messages: MESSAGES });
  assert.equal(result.message, 'No connection.');
});

test('no answer at all is a network problem, not a rejection', async () => {
  answering(new TypeError('Failed to fetch'));
  const result = await postJson('/u', {}, { meta: meta(), messages: MESSAGES });
  assert.deepEqual(result, { ok: false, status: 0, message: 'No connection.' });
});

test('a refused token is retried once, then the refusal is told', async () => {
  const refused = { status: 400, body: { error: { code: 'csrf_failed', message: 'Expired.' } } };
  // The page is fetched again for a fresh token (node has no DOMParser to read it, so
  // the old one stays), then the second post is refused again: no third try.
  globalThis.location = { pathname: '/kiosk/' };
  const calls = answering(refused, { status: 200, body: '' }, refused);
  const result = await postJson('/u', {}, { meta: meta(), messages: MESSAGES });
  assert.deepEqual(result, { ok: false, status: 400, message: 'Expired.' });
  assert.equal(calls.filter((c) => c.init && c.init.method === 'POST').length, 2);
  assert.equal(calls[1].url, '/kiosk/');  // the page, for its token
  delete globalThis.location;
});
