/* A co-host's recording on its way to the server, never lost on the way. With the
 * kiosk's own modules: it is kept in this browser's IndexedDB (static/kiosk/store.js)
 * from the moment it is recorded until the server has it, and sent resumably with tus
 * (static/kiosk/upload.js: retried for hours, resumed where it stopped, after a reload
 * too); then the finished upload is named to the episode (POST .../recordings with its
 * upload_id) and only then forgotten here. One left behind (a closed tab, a reload) is
 * offered again on the episode's page, to its maker only.
 *
 * The decisions are pure and, with Outbox over hand-written fakes, tested by
 * tests/js/studio_outbox.test.mjs. The page's side is link.js.
 */
import { KEPT, RecordStore, idbBackend } from '../kiosk/store.js';
import { entryOutcome } from '../kiosk/upload.js';

export const DB_NAME = 'diaryroom-studio';  // not the kiosk's: its records are entries
export const DB_STORE = 'recordings';
export const studioStore = () => new RecordStore(idbBackend(DB_NAME, DB_STORE));

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
const two = (n) => String(n).padStart(2, '0');

/** A take from the recorder (recorder.js onDone) as a record to keep: whose it is, for
 *  which episode, nothing sent yet. */
export function recordOf(take, { id, episodeId, userId }) {
  return { id, kind: 'audio', blob: take.blob, type: take.type, filename: take.filename,
    duration: Number(take.duration) || 0, episodeId, userId, uploadUrl: null, uploadId: null };
}

/** The kept recordings of this person for this episode, newest first. Someone else
 *  signed in on the same computer is offered none of them. */
export function unsentFor(records, { episodeId, userId }) {
  return records.filter((r) => r.state === KEPT && r.episodeId === episodeId
    && r.userId === userId && r.blob)
    .sort((a, b) => (b.created || 0) - (a.created || 0));
}

/** "0:03" or "1:15" from seconds. */
export function length(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${two(s % 60)}`;
}

/** The offer after a reload, in plain words (local time, as the person lives it). */
export function offerText(record) {
  const made = new Date(record.created || 0);
  const day = `${made.getDate()} ${MONTHS[made.getMonth()]}`;
  const when = `${day} at ${two(made.getHours())}:${two(made.getMinutes())}`;
  const long = record.duration ? `${length(record.duration)} long, ` : '';
  return `You have a recording that was not sent yet (${long}made on ${when}).`;
}

const SAFE = 'Your recording is safe on this computer';
const PROBLEMS = {
  retry: `The connection dropped. ${SAFE} and carries on sending by itself when the connection is back.`,
  full: `You have other recordings still being sent. ${SAFE}; it is tried again in a minute.`,
  problem: `The server did not take your recording just now. ${SAFE}; it is tried again shortly.`,
};

/** What the page says about a problem upload.js reports (reason: retry, full, problem). */
export function problemText(reason, message = '') {
  if (reason === 'problem' && message) return `${message} ${SAFE}; it is tried again shortly.`;
  return PROBLEMS[reason] || PROBLEMS.problem;
}

/**
 * What to do with the answer to naming the upload as a recording: as the kiosk decides
 * for an entry (upload.js entryOutcome: done, token, retry, again, saved, failed), where
 * no answer at all (status 0: the connection dropped) is waited out too.
 */
export function recordingOutcome(status, code, record, attempt) {
  if (status === 0) return 'retry';
  return entryOutcome(status, code, record, attempt);
}

export class Outbox {
  /**
   * @param {object} options store (a RecordStore), uploader (upload.js Uploader: only its
   *   upload(record, view) is used), name(uploadId) -> Promise of the server's recording
   *   ({id, status}; rejects with api.js ApiError), refreshCsrf() -> Promise, wait(ms).
   */
  constructor({ store, uploader, name, refreshCsrf = async () => {}, wait = sleep }) {
    Object.assign(this, { store, uploader, name, refreshCsrf, wait });
    this.running = new Set();  // ids of records being sent
  }

  busy(record) {
    return this.running.has(record.id);
  }

  /**
   * Send ``record`` until the server has it. Resolves to {recording} (the server's
   * answer), {saved: true} (an earlier try got there and its answer was lost) or {error}
   * (refused: the record stays, to send again or delete). ``view`` is upload.js's:
   * progress(fraction) and problem(reason, message).
   */
  async send(record, view) {
    if (this.busy(record)) return { error: 'This recording is being sent already.' };
    this.running.add(record.id);
    try {
      for (let attempt = 0; ; attempt++) {
        if (!record.uploadId) await this.uploader.upload(record, view);
        view.progress(1);
        let answer = null;
        let failure = { status: 201, code: '', message: '' };
        try {
          answer = await this.name(record.uploadId);
        } catch (e) {
          failure = { status: e.status || 0, code: e.code || '', message: e.message || '' };
        }
        const outcome = recordingOutcome(failure.status, failure.code, record, attempt);
        if (outcome === 'done' || outcome === 'saved') {
          await this.store.confirmed(record);  // only now is it forgotten here
          return outcome === 'done' ? { recording: answer } : { saved: true };
        }
        if (outcome === 'token') {
          await this.refreshCsrf();
        } else if (outcome === 'retry') {
          view.problem(failure.status ? 'problem' : 'retry', failure.message);
          await this.wait(Math.min(60000, 2000 * (attempt + 1)));
        } else if (outcome === 'again') {  // the finished upload is gone: send the bytes again
          Object.assign(record, { uploadId: null, uploadUrl: null, sentAgain: true });
          await this.store.update(record);
        } else {
          return { error: failure.message };
        }
      }
    } finally {
      this.running.delete(record.id);
    }
  }
}

/**
 * Add the recording the server took as a part, with ``add()``. Someone else's change to
 * the episode meanwhile (409: its version moved on) is fetched with ``refresh()`` and
 * the add tried again; a dropped connection is waited out. Resolves true when added,
 * false after ``tries`` (the recording is then listed under "Recordings not in the
 * episode yet"); rejects with a refusal (422) as it is.
 */
export async function addAsPart(add, { refresh, wait = sleep, tries = 5 }) {
  for (let i = 0; i < tries; i++) {
    try {
      await add();
      return true;
    } catch (e) {
      if (e.status === 409) await refresh().catch(() => {});
      else if (!e.status || e.status >= 500 || e.status === 429) await wait(2000 * (i + 1));
      else throw e;
    }
  }
  return false;
}
