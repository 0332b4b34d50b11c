/* The web player's pure parts (no DOM): reading the cues the page was served with,
 * which cue and chapter are being heard, searching the transcript, and the one state
 * machine the page (player.js) draws. Tested by tests/js/player.test.mjs.
 */

/** Cues from what the page carries ({start, end, text}, times as strings): a cue whose
 *  times cannot be read is dropped, and each keeps its index on the page. */
export function readCues(raw) {
  const cues = [];
  raw.forEach((item, index) => {
    const start = Number.parseFloat(item.start);
    const end = Number.parseFloat(item.end);
    if (!Number.isFinite(start) || start < 0) return;
    cues.push({ index, start, end: Number.isFinite(end) && end > start ? end : start,
                text: String(item.text ?? '') });
  });
  return cues;
}

/** The index (in ``list``) of the last item starting at or before ``t``, -1 before the
 *  first. A binary search: transcripts can be long, and this runs four times a second. */
export function lastStarted(list, t) {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

/** The cue being heard at ``t``: the one that has started, kept through the silence
 *  before the next (so the highlight does not flicker between lines), none before the
 *  first line or after the last has ended. */
export function cueAt(cues, t) {
  const i = lastStarted(cues, t);
  if (i < 0) return -1;
  if (i === cues.length - 1 && t >= cues[i].end) return -1;
  return i;
}

/** A text folded for searching: lower case, accents off. Each folded character maps
 *  back to its place in the text, so a match can be marked in the original. */
export function fold(text) {
  let folded = '';
  const at = [];
  let i = 0;
  for (const ch of text) {
    const f = ch.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    for (let k = 0; k < f.length; k++) at.push(i);
    folded += f;
    i += ch.length;
  }
  at.push(i);
  return { folded, at };
}

/** The words of a query, folded (a line matches when it has every one). */
export function queryWords(query) {
  return fold(String(query ?? '')).folded.split(/\s+/).filter(Boolean);
}

/** The indexes (in ``cues``) of the cues with every word of the query. */
export function search(cues, query) {
  const words = queryWords(query);
  if (!words.length) return cues.map((_, i) => i);
  return cues.flatMap((cue, i) => {
    const { folded } = fold(cue.text);
    return words.every((w) => folded.includes(w)) ? [i] : [];
  });
}

/** A text cut into parts to draw, ``{text, match}``: the query's words marked wherever
 *  they occur (overlapping occurrences merged). */
export function marks(text, query) {
  const words = queryWords(query);
  const { folded, at } = fold(text);
  const hits = [];
  for (const w of words) {
    for (let k = folded.indexOf(w); k >= 0; k = folded.indexOf(w, k + 1)) {
      hits.push([at[k], at[k + w.length]]);
    }
  }
  hits.sort((a, b) => a[0] - b[0]);
  const parts = [];
  let pos = 0;
  for (const [from, to] of hits) {
    if (to <= pos) continue;
    const start = Math.max(from, pos);
    const last = parts[parts.length - 1];
    if (start > pos) parts.push({ text: text.slice(pos, start), match: false });
    else if (last?.match) { last.text += text.slice(start, to); pos = to; continue; }
    parts.push({ text: text.slice(start, to), match: true });
    pos = to;
  }
  if (pos < text.length || !parts.length) parts.push({ text: text.slice(pos), match: false });
  return parts;
}

/** What the search says (to everyone, and to screen readers as a status). */
export function summary(found, total, query) {
  const q = String(query ?? '').trim();
  if (!q) return '';
  if (!found) return `No lines of the transcript match “${q}”.`;
  if (found === total) return `All ${total} lines match “${q}”.`;
  return `${found} of ${total} lines match “${q}”.`;
}

// --- the page's state ---------------------------------------------------------------

/** ``current`` and ``chapter``: what is being heard (-1: nothing). ``shown``: the
 *  indexes of the cues the search keeps, null when there is no search. ``follow``: keep
 *  the line being heard in view while it plays. */
export function initial({ follow = true } = {}) {
  return { current: -1, chapter: -1, query: '', shown: null, follow };
}

/** The next state after an event: ``{type: 'time', t}`` (the audio moved),
 *  ``{type: 'ended'}``, ``{type: 'search', query}``, ``{type: 'follow', on}``. */
export function step(state, event, { cues, chapters }) {
  switch (event.type) {
    case 'time':
      return { ...state, current: cueAt(cues, event.t), chapter: lastStarted(chapters, event.t) };
    case 'ended':
      return { ...state, current: -1 };
    case 'search': {
      const query = String(event.query ?? '').trim();
      return { ...state, query, shown: query ? search(cues, query) : null };
    }
    case 'follow':
      return { ...state, follow: !!event.on };
    default:
      return state;
  }
}
