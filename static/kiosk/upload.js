/* Sending a kept record: the bytes over tus (resumable, retried for hours, resumed after a
 * reload), then the entry itself, named for good by the record's id (Idempotency-Key), so
 * a retry whose first answer was lost gets the same entry back, not a second one.
 *
 * No page in here: the caller passes the endpoints, the CSRF token (and how to refresh
 * it) and a ``view`` with progress(fraction), problem(reason, message), failed(message)
 * and done(data). Reasons are "retry" (the connection dropped), "full" (the server may not
 * take more from this device just now: 429/413) and "problem". The decisions are pure
 * functions, tested by tests/js/upload.test.mjs.
 */

/** tus retry delays: a dropped network or a restarting server must not lose anything. */
export function retryDelays() {
  const delays = [0, 1000, 3000, 5000, 10000, 10000, 10000, 10000, 10000, 10000];
  for (let i = 0; i < 20; i++) delays.push(30000);
  for (let i = 0; i < 480; i++) delays.push(60000);  // about eight hours more
  return delays;
}

/** Whether tus should retry a failed request by itself (as tus would decide). */
export function tusShouldRetry(status) {
  return !status || status < 400 || status >= 500 || status === 409 || status === 423;
}

/**
 * After tus has given up: why, and how long until we start again (milliseconds). A 429
 * or 413 answer to creating the upload means this device's unfinished uploads fill what
 * it may hold; the recording is kept and tried again later.
 */
export function afterUploadError(status, method) {
  const full = (status === 429 || status === 413) && method === 'POST';
  if (full) return { reason: 'full', wait: 60000, refreshToken: false };
  if (status === 400) return { reason: 'problem', wait: 5000, refreshToken: true };  // stale CSRF?
  return { reason: status ? 'problem' : 'retry', wait: 30000, refreshToken: false };
}

export function uploadIdFrom(url) {
  return url.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop();
}

/** The JSON that makes the entry. */
export function entryBody(record) {
  const data = { kind: record.kind, consent: record.consent, prompt_id: record.promptId };
  if (record.kind === 'text') data.text = record.text;
  else {
    data.upload_id = record.uploadId;
    if (record.sha256) data.sha256 = record.sha256;  // the server checks the bytes it holds
  }
  return data;
}

/**
 * What to do with an answer to making the entry: "done", "retry" (after a wait),
 * "token" (refresh the CSRF token, then retry), "again" (send the bytes again), "saved"
 * (made earlier, its answer lost) or "failed".
 */
export function entryOutcome(status, code, record, attempt) {
  if (status === 200 || status === 201) return 'done';
  if (code === 'csrf_failed' && attempt < 3) return 'token';
  if (status >= 500 || status === 429 || status === 408) return 'retry';
  const media = record.kind !== 'text';
  if (media && !record.sentAgain && ([404, 410].includes(status) || ['upload_not_found',
    'upload_incomplete', 'checksum_mismatch'].includes(code))) return 'again';
  if (media && code === 'upload_already_used') return 'saved';
  return 'failed';
}

export async function readError(response) {
  try {
    const data = await response.json();
    if (data && data.error) return { code: data.error.code || '', message: data.error.message || '' };
  } catch (e) { /* not JSON */ }
  return { code: '', message: '' };
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class Uploader {
  /**
   * @param {object} options uploads (tus endpoint URL), entries (URL), csrf() -> token,
   *   refreshCsrf() -> Promise, chunkSize() -> bytes, store (a RecordStore), tus (the
   *   tus-js-client namespace).
   */
  constructor({ uploads, entries, csrf, refreshCsrf = async () => {}, chunkSize = () => 1 << 20,
    store, tus = globalThis.tus }) {
    Object.assign(this, { uploads, entries, csrf, refreshCsrf, chunkSize, store, tus });
    this.running = new Set();  // record ids being saved
  }

  busy(record) {
    return this.running.has(record.id);
  }

  upload(record, view) {
    return new Promise((resolve) => {
      const begin = () => {
        const attempt = new this.tus.Upload(record.blob, {
          endpoint: this.uploads,
          uploadUrl: record.uploadUrl || null,
          chunkSize: this.chunkSize(),
          retryDelays: retryDelays(),
          removeFingerprintOnSuccess: true,
          headers: { 'X-CSRFToken': this.csrf() },
          metadata: { filename: record.filename, filetype: record.type, kind: record.kind },
          onUploadUrlAvailable: () => {
            if (record.uploadUrl !== attempt.url) {
              record.uploadUrl = attempt.url;
              this.store.update(record);
            }
          },
          onProgress: (sent, total) => view.progress(total ? sent / total : 0),
          onShouldRetry: (error) => {
            // Say at once that the connection dropped (it may take minutes to come back).
            view.problem('retry');
            return tusShouldRetry(error?.originalResponse?.getStatus() || 0);
          },
          onError: (error) => {
            const status = error?.originalResponse?.getStatus() || 0;
            const next = afterUploadError(status, error?.originalRequest?.getMethod());
            view.problem(next.reason);
            if (next.refreshToken) this.refreshCsrf();
            setTimeout(begin, next.wait);
          },
          onSuccess: () => {
            record.uploadId = uploadIdFrom(attempt.url);
            record.uploadUrl = attempt.url;
            this.store.update(record).then(resolve);
          },
        });
        attempt.start();
      };
      begin();
    });
  }

  async createEntry(record, view) {
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(this.entries, {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json',
            'X-CSRFToken': this.csrf(), 'Idempotency-Key': record.id },
          body: JSON.stringify(entryBody(record)),
        });
      } catch (e) {
        view.problem('retry');
        await sleep(Math.min(60000, 2000 * (attempt + 1)));
        continue;
      }
      const ok = response.status === 200 || response.status === 201;
      const error = ok ? { code: '', message: '' } : await readError(response);
      const outcome = entryOutcome(response.status, error.code, record, attempt);
      if (outcome === 'done') return { data: await response.json() };
      if (outcome === 'token') { await this.refreshCsrf(); continue; }
      if (outcome === 'retry') {
        view.problem('problem', error.message);
        await sleep(Math.min(60000, 3000 * (attempt + 1)));
        continue;
      }
      if (outcome === 'again') return { again: true };
      // Made by an earlier try whose answer was lost: saved, but its code is unknown.
      if (outcome === 'saved') return { data: { receipt_code: null } };
      return { error: error.message };
    }
  }

  /** Send ``record`` until the server has it; only then is it removed from the store. */
  async save(record, view) {
    if (this.running.has(record.id)) return;
    this.running.add(record.id);
    try {
      for (;;) {
        if (record.kind !== 'text' && !record.uploadId) await this.upload(record, view);
        view.progress(1);
        const outcome = await this.createEntry(record, view);
        if (outcome.again) {  // the finished upload is gone (expired, or lost): send it again
          Object.assign(record, { uploadId: null, uploadUrl: null, sentAgain: true });
          await this.store.update(record);
          continue;
        }
        if ('error' in outcome) { view.failed(outcome.error); return; }
        await this.store.confirmed(record);
        view.done(outcome.data, record);
        return;
      }
    } finally {
      this.running.delete(record.id);
    }
  }
}
