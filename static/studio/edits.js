/* A segment's edit list (the contract's Segment.edits), changed by pure functions: each
 * takes an edit list and returns a new one, never touching the old. The server (H1's
 * podcast/studio/edits.py) is the judge of what is valid; these only keep the page's
 * copy sensible (ranges sorted and merged, numbers inside their limits) so that what is
 * sent is what the person sees. Tested by tests/js/studio_edits.test.mjs.
 */

export const DEFAULTS = Object.freeze({
  trim_start: 0, trim_end: null, cut_words: [], cut_ranges: [], remove_fillers: false,
  shorten_pauses: false, gain_db: 0, crossfade: 0,
});
export const GAIN_LIMIT = 20;     // dB either way
export const CROSSFADE_MAX = 5;   // seconds
export const LONG_PAUSE = 1;      // seconds: a longer pause between words is shortened…
export const PAUSE_KEEP = 0.25;   // …keeping this much each side of it
// A word that is only a hesitation (um, uh, er, erm, hmm, mm, ah), as the server's
// podcast/studio/edits.py recognises it.
const FILLER = /^(u+h*m+|u+h+|e+r+m*|h+m+|m{2,}|a+h+)$/;
const PUNCTUATION = /^[\s!-/:-@[-`{-~…“”‘’]+|[\s!-/:-@[-`{-~…“”‘’]+$/g;

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
const round = (x, places = 3) => Math.round(x * 10 ** places) / 10 ** places;

/** Every key present, defaults for the missing ones; keys only the server knows
 *  (keep_findings, say) are kept as they are. */
export function normalise(edits) {
  const full = { ...DEFAULTS, ...(edits || {}) };
  full.cut_words = mergeRanges(full.cut_words || []);
  full.cut_ranges = mergeSpans(full.cut_ranges || []);
  return full;
}

function joined(ranges, gap) {
  const sorted = ranges.map(([a, b]) => [Math.min(a, b), Math.max(a, b)]).sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + gap) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Inclusive integer ranges (word indexes), sorted, with touching or overlapping ones joined. */
export const mergeRanges = (ranges) => joined(ranges, 1);
/** Stretches in seconds, sorted, with overlapping or touching ones joined. */
export const mergeSpans = (spans) => joined(spans, 0);

export function isCut(edits, index) {
  return (edits.cut_words || []).some(([a, b]) => index >= a && index <= b);
}

/** Cut the words first..last (inclusive, in either order). */
export function cutWords(edits, first, last) {
  const e = normalise(edits);
  return { ...e, cut_words: mergeRanges([...e.cut_words, [first, last]]) };
}

/** Put back the words first..last: ranges that overlap are split around them. */
export function putBack(edits, first, last) {
  const e = normalise(edits);
  const lo = Math.min(first, last);
  const hi = Math.max(first, last);
  const kept = [];
  for (const [a, b] of e.cut_words) {
    if (b < lo || a > hi) { kept.push([a, b]); continue; }
    if (a < lo) kept.push([a, lo - 1]);
    if (b > hi) kept.push([hi + 1, b]);
  }
  return { ...e, cut_words: kept };
}

/** Trim to [start, end) of a source ``duration`` s long; end null (or the end itself)
 *  means "to the end". At least a tenth of a second is always left. */
export function setTrim(edits, { start, end }, duration) {
  const e = normalise(edits);
  const total = duration > 0 ? duration : Infinity;
  let s = start === undefined ? e.trim_start : Number(start) || 0;
  let t = end === undefined ? e.trim_end : end;
  if (t === null || t === '' || !Number.isFinite(Number(t))) t = null;
  else t = Number(t);
  s = clamp(s, 0, Number.isFinite(total) ? total - 0.1 : s);
  if (t !== null) {
    t = clamp(t, s + 0.1, total);
    if (Number.isFinite(total) && t >= total - 0.001) t = null;
  }
  // Hundredths: finer than anyone hears a cut, and short enough to read in the boxes.
  return { ...e, trim_start: round(s, 2), trim_end: t === null ? null : round(t, 2) };
}

export const MIN_STRETCH = 0.05;  // s: a shorter selection is a slip of the mouse

/** The stretch from..to (either way round) of a source ``duration`` s long, inside it and
 *  in hundredths, or null when it is no stretch at all. */
export function stretch(from, to, duration) {
  if (from === '' || to === '' || from === null || to === null) return null;
  const total = duration > 0 ? duration : Infinity;
  const [a, b] = [Number(from), Number(to)].map((x) => round(clamp(x, 0, total), 2)).sort((x, y) => x - y);
  return Number.isFinite(a) && Number.isFinite(b) && b - a >= MIN_STRETCH ? [a, b] : null;
}

/** Cut the stretch from..to (seconds of the source): the cut_ranges of a selection on the
 *  waveform. Nothing changes when it is no stretch. */
export function cutStretch(edits, from, to, duration) {
  const e = normalise(edits);
  const s = stretch(from, to, duration);
  return s ? { ...e, cut_ranges: mergeSpans([...e.cut_ranges, s]) } : e;
}

/** Put back the cut stretch at ``index`` (of the normalised cut_ranges). */
export function putBackStretch(edits, index) {
  const e = normalise(edits);
  return { ...e, cut_ranges: e.cut_ranges.filter((_, i) => i !== index) };
}

/** The indexes of the words a cut stretch takes: the server hears a word when its middle
 *  is kept (podcast/studio/edits.py kept_words), so a word goes when its middle is cut. */
export function wordsInStretches(words, ranges) {
  const out = [];
  words.forEach((w, i) => {
    const mid = (Number(w.start) + Number(w.end)) / 2;
    if (w.start == null || w.end == null || !Number.isFinite(mid)) return;
    if (ranges.some(([a, b]) => mid > a && mid < b)) out.push(i);
  });
  return out;
}

export function setGain(edits, db) {
  return { ...normalise(edits), gain_db: round(clamp(Number(db) || 0, -GAIN_LIMIT, GAIN_LIMIT), 1) };
}

export function setCrossfade(edits, seconds) {
  return { ...normalise(edits), crossfade: round(clamp(Number(seconds) || 0, 0, CROSSFADE_MAX), 2) };
}

/** Both "remove ums" and "shorten long pauses" on (or off) at once, as the page offers. */
export function setRemovals(edits, on) {
  return { ...normalise(edits), remove_fillers: !!on, shorten_pauses: !!on };
}

/** Keep (or cut) the personal detail the detector found as finding ``index`` of a
 *  co-host's recording (``keep_findings``, H4's key). */
export function setFindingKept(edits, index, kept) {
  const e = normalise(edits);
  const set = new Set(e.keep_findings || []);
  if (kept) set.add(index); else set.delete(index);
  return { ...e, keep_findings: [...set].sort((a, b) => a - b) };
}

export function isFiller(text) {
  return FILLER.test(String(text).replace(PUNCTUATION, '').toLowerCase());
}

/**
 * What "Remove ums and long pauses" would take out of ``words``, in the shape of the
 * server's removals_preview: {filler_words, pauses: the stretches cut, seconds_saved}.
 * The page shows the server's own preview; this is for a part it sent none for. Words
 * already cut are skipped: they are gone anyway.
 */
export function removalsPreview(words, edits = DEFAULTS) {
  const fillers = [];
  const pauses = [];
  let saved = 0;
  const live = words.map((w, i) => ({ ...w, i })).filter((w) => !isCut(edits, w.i));
  for (const w of live) {
    if (isFiller(w.text)) {
      fillers.push(w.i);
      saved += Math.max(0, w.end - w.start);
    }
  }
  for (let k = 1; k < live.length; k++) {
    const gap = live[k].start - live[k - 1].end;
    if (gap > LONG_PAUSE) {
      pauses.push([round(live[k - 1].end + PAUSE_KEEP), round(live[k].start - PAUSE_KEEP)]);
      saved += gap - 2 * PAUSE_KEEP;
    }
  }
  return { filler_words: fillers, pauses, seconds_saved: round(saved, 2) };
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "3 ums, 2 pauses, saves 4.1 s", or a sentence saying there is nothing to remove. */
export function describePreview(preview) {
  const ums = preview.filler_words.length;
  const pauses = preview.pauses.length;
  if (!ums && !pauses) return 'No ums or long pauses found in this part.';
  const parts = [];
  if (ums) parts.push(plural(ums, 'um', 'ums'));
  if (pauses) parts.push(plural(pauses, 'pause', 'pauses'));
  return `${parts.join(', ')}, saves ${preview.seconds_saved.toFixed(1)} s`;
}

/** Whether two edit lists say the same thing (defaults filled in on both sides). */
export function sameEdits(a, b) {
  const x = normalise(a);
  const y = normalise(b);
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].every((k) => JSON.stringify(x[k] ?? null) === JSON.stringify(y[k] ?? null));
}

/** Only what differs from the defaults: what is sent to the server. */
export function compact(edits) {
  const e = normalise(edits);
  return Object.fromEntries(Object.entries(e)
    .filter(([k, v]) => !(k in DEFAULTS) || JSON.stringify(v) !== JSON.stringify(DEFAULTS[k])));
}

// --- undo and unsaved changes, for one segment ------------------------------------------

/** A segment's edit history in the page: the edits saved on the server (``saved``), what
 *  the page shows now (``present``) and what came before it (``past``, oldest first). */
export function history(saved) {
  const e = normalise(saved);
  return { past: [], present: e, saved: e };
}

/** A change: the present goes onto the undo stack (unless nothing changed). */
export function change(h, next) {
  const e = normalise(next);
  if (sameEdits(e, h.present)) return h;
  return { ...h, past: [...h.past, h.present], present: e };
}

export function canUndo(h) {
  return h.past.length > 0;
}

export function undo(h) {
  if (!canUndo(h)) return h;
  return { ...h, past: h.past.slice(0, -1), present: h.past[h.past.length - 1] };
}

/** The server has ``edits`` now (after a save, or from someone else). */
export function saved(h, edits) {
  return { ...h, saved: normalise(edits) };
}

/** The server's edits replace the page's, and the undo stack (it was built on others). */
export function replaced(h, edits) {
  return history(edits);
}

export function isDirty(h) {
  return !sameEdits(h.present, h.saved);
}
