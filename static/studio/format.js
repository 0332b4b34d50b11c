/* Small words and numbers for the studio's pages (pure; tests/js/studio_format.test.mjs).
 * The audience names are the review pages' (templates/review/entry.html). */

export const AUDIENCES = Object.freeze({
  team: 'Only the team', organisation: 'People in our organisation',
  public: 'Anyone (public podcast)',
});
export const KINDS = Object.freeze({
  entry: 'Diary-room entry', recording: 'Co-host link', music: 'Music',
});

/** 65.4 -> "1:05"; a tenth of a second is shown under ten seconds ("0:04.2"). */
export function clock(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  if (s < 9.95) return `0:0${s.toFixed(1)}`;
  const whole = Math.max(10, Math.floor(s));  // 9.95..10 is shown as 0:10
  const rest = whole % 60;
  return `${Math.floor(whole / 60)}:${rest < 10 ? '0' : ''}${rest}`;
}

export function audienceLabel(audience) {
  return AUDIENCES[audience] || 'Not known yet';
}

export function kindLabel(kind) {
  return KINDS[kind] || 'Part';
}

/** "+3 dB", "0 dB", "-6 dB" (a real minus sign is read as "minus" by screen readers). */
export function decibels(db) {
  const n = Math.round((Number(db) || 0) * 10) / 10;
  if (n === 0) return '0 dB';
  return `${n > 0 ? '+' : '−'}${Math.abs(n)} dB`;
}

/** "words 3 to 5" or "word 3", counting from 1 as people do. */
export function wordSpan(first, last) {
  const a = Math.min(first, last) + 1;
  const b = Math.max(first, last) + 1;
  return a === b ? `word ${a}` : `words ${a} to ${b}`;
}

/** "Entry 12 and Entry 14" from [{entry_id: 12}, {entry_id: 14}]. */
export function entryList(limits) {
  const names = limits.map((l) => `Entry ${l.entry_id}`);
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
