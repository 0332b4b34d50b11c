/* Kept recordings wait here until the server has answered 201: a record is written before
 * a single byte is sent and removed only after the entry exists, so a dropped network, a
 * reload or a power cut loses nothing. Anything NOT kept is wiped when the person leaves.
 *
 * RecordStore holds the rules over a tiny backend (put, delete, all); idbBackend() is the
 * browser's IndexedDB, and tests/js/store.test.mjs uses an in-memory one.
 */

export const KEPT = 'kept';

/** IndexedDB as a backend: one object store of records keyed by ``id``. */
export function idbBackend(name = 'diaryroom-kiosk', store = 'entries') {
  let opening = null;
  function open() {
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      if (!globalThis.indexedDB) { reject(new Error('no IndexedDB')); return; }
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(store)) {
          request.result.createObjectStore(store, { keyPath: 'id' });
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    opening.catch(() => { opening = null; });
    return opening;
  }
  async function run(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      let result;
      const request = work(tx.objectStore(store));
      if (request) request.onsuccess = () => { result = request.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
  return {
    put: (record) => run('readwrite', (s) => s.put(record)),
    delete: (id) => run('readwrite', (s) => s.delete(id)),
    all: () => run('readonly', (s) => s.getAll()),
  };
}

/** tus remembers unfinished uploads in localStorage ("tus::..." keys); these are the keys
 *  no kept record still needs. */
export function staleFingerprints(entries, keptUrls) {
  return entries
    .filter(([key, value]) => key.startsWith('tus::')
      && !keptUrls.some((url) => (value || '').includes(url)))
    .map(([key]) => key);
}

export class RecordStore {
  constructor(backend) {
    this.backend = backend;
  }

  /** A new kept record (written before anything is sent). */
  async keep(fields, now = Date.now()) {
    const record = { ...fields, state: KEPT, created: now, touchedAt: now };
    try { await this.backend.put(record); } catch (e) { /* no storage: send from memory */ }
    return record;
  }

  update(record) {
    return this.backend.put(record).catch(() => {});
  }

  /** The server has it (201): only now is it forgotten. */
  confirmed(record) {
    return this.backend.delete(record.id).catch(() => {});
  }

  async kept() {
    const records = await this.backend.all().catch(() => []);
    return records.filter((r) => r.state === KEPT);
  }

  /** Delete every record that was not kept; resolves to the kept ones, newest first. */
  async wipeUnkept() {
    const records = await this.backend.all().catch(() => []);
    await Promise.all(records.filter((r) => r.state !== KEPT)
      .map((r) => this.backend.delete(r.id).catch(() => {})));
    return records.filter((r) => r.state === KEPT)
      .sort((a, b) => (b.touchedAt || 0) - (a.touchedAt || 0));
  }
}

/** Whether the newest kept record was touched so lately that its maker is still here. */
export function stillHere(record, idleSeconds, now = Date.now()) {
  return now - (record.touchedAt || record.created || 0) < idleSeconds * 1000;
}
