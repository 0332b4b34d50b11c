// Small helpers for showing things on a page: words with values filled in, times and
// dates people read, a sound-level meter, and the length of a browser recording. Pure
// where they can be (fill, clock), so node's test runner checks them.

/** ``fill('{n} left', {n: 3})`` -> ``'3 left'``; an unknown name is left as it is. */
export const fill = (template, values) =>
  String(template).replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

/** Seconds as minutes:seconds, ``clock(75)`` -> ``'1:15'`` (never negative). */
export const clock = (seconds) => {
  const s = Math.floor(Math.max(0, seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** A date from the server (``2025-03-14`` or a timestamp) in words, in ``lang``. */
export function formatDate(value, lang) {
  const date = new Date(value + (/^\d{4}-\d{2}-\d{2}$/.test(value) ? 'T12:00:00' : ''));
  if (isNaN(date.getTime())) return value;
  return date.toLocaleDateString(lang, { day: 'numeric', month: 'long', year: 'numeric' });
}

/**
 * Draws a level (0-100) on a meter element (its first child is the bar). The bar moves
 * every time; the value screen readers hear changes at most five times a second.
 */
export class LevelMeter {
  constructor(meter) { this.meter = meter; this.spokenAt = 0; }

  draw(level) {
    this.meter.firstElementChild.style.transform = `scaleX(${level / 100})`;
    const now = performance.now();
    if (level === 0 || now - this.spokenAt > 200) {
      this.spokenAt = now;
      this.meter.setAttribute('aria-valuenow', String(Math.round(level)));
      this.meter.dataset.level = String(Math.round(level));
    }
  }
}

/**
 * MediaRecorder's WebM has no length in its header, so players show "Infinity" until
 * they have read to the end. Seek far ahead once to learn the real length; it is then
 * in ``media.dataset.duration``.
 */
export function learnDuration(media) {
  const check = () => {
    if (!(isFinite(media.duration) && media.duration > 0)) return;
    media.removeEventListener('durationchange', check);
    media.removeEventListener('timeupdate', check);
    if (media.currentTime !== 0) media.currentTime = 0;
    media.dataset.duration = String(media.duration);
  };
  media.addEventListener('loadedmetadata', () => {
    if (isFinite(media.duration) && media.duration > 0) { check(); return; }
    media.addEventListener('durationchange', check);
    media.addEventListener('timeupdate', check);
    media.currentTime = 1e101;
  }, { once: true });
}
