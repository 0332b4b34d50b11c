// The kiosk page's own requests to its server: JSON posts with the page's CSRF token,
// fetching a fresh token when the session no longer accepts it, and a recording's
// checksum. No kiosk words here: the caller says what each failure is called.
import { readError } from './upload.js';

/** The SHA-256 of a blob as hex, or null where the browser cannot compute it. */
export async function sha256Hex(blob) {
  if (!(globalThis.crypto && crypto.subtle)) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The CSRF token belongs to the browser's session; if the server no longer accepts it
 * (the session cookie was lost, say), fetch this page again for a fresh one and put it
 * into ``meta`` (the page's <meta name="csrf-token">).
 */
export async function refreshCsrf(meta) {
  try {
    const response = await fetch(location.pathname, { credentials: 'same-origin', cache: 'no-store' });
    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = page.querySelector('meta[name="csrf-token"]');
    if (fresh && fresh.content) meta.content = fresh.content;
  } catch (e) { /* offline: the next try will ask again */ }
}

/**
 * POST ``data`` as JSON. Resolves to ``{ok: true, status, data}`` or ``{ok: false,
 * status, message}``, where the message is the server's own, or ``messages[status]``,
 * or ``messages.network`` (status 0: no answer at all). Never rejects.
 */
export async function postJson(url, data, { meta, messages }, retried = false) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST', credentials: 'same-origin', body: JSON.stringify(data),
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': meta.content },
    });
  } catch (e) {
    return { ok: false, status: 0, message: messages.network };
  }
  if (response.ok) return { ok: true, status: response.status, data: await response.json().catch(() => ({})) };
  const error = await readError(response);
  if (error.code === 'csrf_failed' && !retried) {
    await refreshCsrf(meta);
    return postJson(url, data, { meta, messages }, true);
  }
  return { ok: false, status: response.status, message: error.message || messages[response.status] || messages.network };
}
