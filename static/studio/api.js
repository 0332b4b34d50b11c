/* The studio's requests to its server: JSON in and out, the page's CSRF token in the
 * X-CSRFToken header, and every failure turned into an ApiError with a message a co-host
 * can act on (the server's own when it gives one). Tested by tests/js/studio_api.test.mjs
 * with a hand-written fetch.
 */

const MESSAGES = {
  0: 'There is no connection to the server just now. Check the network and try again.',
  400: 'The page is out of date. Reload it and try again.',
  403: 'You are not allowed to do that.',
  404: 'That is not there any more. Reload the page to see what is.',
  409: 'Someone else changed this a moment ago.',
  410: 'That has been taken back by the person who made it.',
  413: 'That file is too big.',
  422: 'That did not work.',
  429: 'Too many changes at once. Wait a moment and try again.',
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The error for an answer that was not OK, from its JSON body ({"error": {code, message}})
 *  where there is one. */
export function errorFrom(status, body) {
  const error = (body && body.error) || {};
  const message = error.message || MESSAGES[status]
    || (status >= 500 ? 'The server had a problem. Try again in a moment.' : MESSAGES[422]);
  return new ApiError(status, error.code || '', message);
}

export function createApi({ csrf, fetchImpl = (...args) => globalThis.fetch(...args) }) {
  async function send(url, options = {}) {
    const headers = { Accept: 'application/json', ...(options.headers || {}) };
    if (options.method && options.method !== 'GET') headers['X-CSRFToken'] = csrf();
    let response;
    try {
      response = await fetchImpl(url, { credentials: 'same-origin', ...options, headers });
    } catch (e) {
      throw new ApiError(0, 'network', MESSAGES[0]);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw errorFrom(response.status, body);
    return body ?? {};
  }

  return {
    get: (url) => send(url, { cache: 'no-store' }),
    /** POST ``data`` as JSON. */
    post: (url, data = {}) => send(url, {
      method: 'POST', body: JSON.stringify(data), headers: { 'Content-Type': 'application/json' },
    }),
    /** POST a form (FormData: files included) as multipart, answered in JSON. */
    postForm: (url, form) => send(url, { method: 'POST', body: form }),
  };
}
