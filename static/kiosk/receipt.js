/* Receipt codes as people type them. The same rules as diaryroom/domain/receipts.py
 * normalise(), pinned for both by tests/data/receipt_codes.json (pytest and node --test
 * read the same table), so the kiosk never refuses a code the server would take.
 *
 * Forgiving: any case, any separators, accents dropped, and a number run into the last
 * word ("lake27"). Strict: exactly three words of plain letters, then a number.
 */

const WORDS_IN_CODE = 3;

/** The canonical ``amber-otter-lake-27`` for what was typed, or null if it cannot be one. */
export function normalise(typed) {
  const plain = String(typed ?? '').toLowerCase().normalize('NFKD').replace(/\p{M}/gu, '');
  const parts = plain.match(/[\p{L}\p{N}]+/gu) || [];
  const last = parts.length ? /^([a-z]+)([0-9]+)$/.exec(parts[parts.length - 1]) : null;
  if (last) parts.splice(parts.length - 1, 1, last[1], last[2]);
  if (parts.length !== WORDS_IN_CODE + 1) return null;
  if (!/^[0-9]+$/.test(parts[WORDS_IN_CODE])) return null;
  if (!parts.slice(0, WORDS_IN_CODE).every((p) => /^[a-z]+$/.test(p))) return null;
  return parts.join('-');
}

/** The words of a code, to be read aloud one at a time. */
export function spokenWords(code) {
  return String(code || '').split('-').filter(Boolean);
}
