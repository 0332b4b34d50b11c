// The studio's requests (static/studio/api.js), against a hand-written fetch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError, createApi, errorFrom } from '../../static/studio/api.js';

function fakeFetch(answers) {
  const calls = [];
  const fetchImpl = async (url, options) => {
    calls.push({ url, ...options });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return new Response(next.body === undefined ? null : JSON.stringify(next.body),
      { status: next.status || 200, headers: { 'Content-Type': 'application/json' } });
  };
  return { calls, fetchImpl };
}

test('a POST carries JSON and the CSRF token; a GET does not send the token', async () => {
  const { calls, fetchImpl } = fakeFetch([{ body: { id: 3, version: 2 } }, { body: { id: 9 } }]);
  const api = createApi({ csrf: () => 'tok', fetchImpl });
  assert.deepEqual(await api.post('/p/edits', { version: 1 }), { id: 3, version: 2 });
  assert.equal(calls[0].method, 'POST');
  assert.equal(calls[0].headers['X-CSRFToken'], 'tok');
  assert.equal(calls[0].headers['Content-Type'], 'application/json');
  assert.equal(calls[0].headers.Accept, 'application/json');
  assert.equal(calls[0].body, '{"version":1}');
  assert.equal(calls[0].credentials, 'same-origin');
  await api.get('/p/state');
  assert.equal(calls[1].headers['X-CSRFToken'], undefined);
});

test('a form goes as it is (multipart), still with the token', async () => {
  const { calls, fetchImpl } = fakeFetch([{ status: 201, body: { ok: true } }]);
  const api = createApi({ csrf: () => 'tok', fetchImpl });
  const form = new FormData();
  form.set('entry_id', '4');
  await api.postForm('/p/segments', form);
  assert.equal(calls[0].body, form);
  assert.equal(calls[0].headers['Content-Type'], undefined, 'the browser sets the boundary');
  assert.equal(calls[0].headers['X-CSRFToken'], 'tok');
});

test("a refusal carries the server's own message, status and code", async () => {
  const { fetchImpl } = fakeFetch([{ status: 409, body: { error: { code: 'conflict', message: 'Someone else changed this part.' } } }]);
  const api = createApi({ csrf: () => 't', fetchImpl });
  await assert.rejects(api.post('/x'), (e) => e instanceof ApiError && e.status === 409
    && e.code === 'conflict' && e.message === 'Someone else changed this part.');
});

test('without a message from the server, a plain one for each status', () => {
  assert.match(errorFrom(409, null).message, /Someone else changed this/);
  assert.match(errorFrom(413, {}).message, /too big/);
  assert.match(errorFrom(503, 'not json').message, /server had a problem/);
  assert.match(errorFrom(418, {}).message, /did not work/);
});

test('no answer at all is status 0 with a message to act on', async () => {
  const { fetchImpl } = fakeFetch([new TypeError('Failed to fetch')]);
  const api = createApi({ csrf: () => 't', fetchImpl });
  await assert.rejects(api.get('/x'), (e) => e.status === 0 && /no connection/.test(e.message));
});

test('an empty or non-JSON success is an empty object', async () => {
  const { fetchImpl } = fakeFetch([{ status: 200 }]);
  assert.deepEqual(await createApi({ csrf: () => 't', fetchImpl }).get('/x'), {});
});
