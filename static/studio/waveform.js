/* The selected part's waveform: wavesurfer.js (vendored, unchanged) drawn from the peaks
 * the server computed once (nothing is decoded in the browser, so a long part opens at
 * once on a cheap laptop), with the trim as a light region whose edges can be dragged and
 * each cut as a dark one. The number inputs beside it do the same from the keyboard.
 * In "Cut a stretch" mode (``choosing``) a drag across it chooses a stretch instead of
 * moving the play position: a blue region, reported by ``onChoose``, resizable.
 *
 * The page's Content-Security-Policy allows no inline styles, and wavesurfer puts a
 * <style> into its shadow root. ``adoptingStyles`` hands that CSS to the shadow root as
 * a constructed stylesheet instead (which the policy does not govern), so wavesurfer
 * looks as it should and no refusal is logged.
 */
import WaveSurfer from '../vendor/wavesurfer.esm.js';
import RegionsPlugin from '../vendor/wavesurfer.regions.esm.js';
import { isFiller } from './edits.js';

const STYLE = /<style[^>]*>([\s\S]*?)<\/style>/gi;
const KEPT = 'rgba(255, 229, 138, 0.35)';   // the trim: what listeners hear
const CUT = 'rgba(27, 27, 27, 0.45)';       // cut words and ranges
const CHOSEN = 'rgba(11, 92, 173, 0.4)';    // a stretch chosen, not cut yet
const CHOSEN_ID = 'chosen-stretch';

/** {css, html}: the text of every <style> in ``html``, and ``html`` without them. */
export function splitStyles(html) {
  const css = [];
  const rest = String(html).replace(STYLE, (_, text) => { css.push(text); return ''; });
  return { css: css.join('\n'), html: rest };
}

/** Run ``make`` with every shadow root it attaches taking its <style>s as adopted sheets. */
export function adoptingStyles(make) {
  const attach = Element.prototype.attachShadow;
  const inner = Object.getOwnPropertyDescriptor(ShadowRoot.prototype, 'innerHTML');
  Element.prototype.attachShadow = function attachShadow(init) {
    const root = attach.call(this, init);
    Object.defineProperty(root, 'innerHTML', {
      configurable: true,
      get() { return inner.get.call(root); },
      set(html) {
        const { css, html: rest } = splitStyles(html);
        if (css) {
          const sheet = new CSSStyleSheet();
          sheet.replaceSync(css);
          root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
        }
        inner.set.call(root, rest);
      },
    });
    return root;
  };
  try {
    return make();
  } finally {
    Element.prototype.attachShadow = attach;
  }
}

/** wavesurfer's (peaks, duration) from the server's peaks.json: one channel, as a list of
 *  lists, whether the server sent [..] or [[..]]. */
export function peaksFor(data) {
  const peaks = (data && data.peaks) || [];
  const channels = Array.isArray(peaks[0]) ? peaks : [peaks];
  return { peaks: channels, duration: Number(data && data.duration) || 0 };
}

/** The stretches of the source that are cut: cut words, the ums once they are removed,
 *  and the cut ranges. */
export function cutSpans(edits, words) {
  const spans = (edits.cut_words || []).map(([a, b]) => [words[a]?.start, words[b]?.end]);
  if (edits.remove_fillers) {
    words.forEach((w) => { if (isFiller(w.text)) spans.push([w.start, w.end]); });
  }
  return spans.filter(([s, e]) => Number.isFinite(s) && Number.isFinite(e) && e > s)
    .concat((edits.cut_ranges || []).map(([s, e]) => [s, e]));
}

export class Waveform {
  constructor(container, { onTrim = () => {}, onTime = () => {}, onPlay = () => {},
    onChoose = () => {} } = {}) {
    Object.assign(this, { container, onTrim, onTime, onPlay, onChoose });
    this.regions = RegionsPlugin.create();
    this.ws = adoptingStyles(() => WaveSurfer.create({
      container, height: 112, waveColor: '#4f6f8f', progressColor: '#0b5cad',
      cursorColor: '#1b1b1b', cursorWidth: 2, normalize: true, dragToSeek: true,
      plugins: [this.regions],
    }));
    this.duration = 0;
    this.trim = null;
    this.ws.on('timeupdate', (t) => this.onTime(t));
    this.ws.on('play', () => this.onPlay(true));
    this.ws.on('pause', () => this.onPlay(false));
    this.chosen = null;       // {start, end}: kept across redraws
    this.stopChoosing = null; // while choosing: ends the drag selection
    this.regions.on('region-created', (r) => { if (r.id === CHOSEN_ID) this.chose(r); });
    this.regions.on('region-updated', (r) => { if (r.id === CHOSEN_ID) this.chose(r); });
    this.ready = Promise.resolve();
  }

  /** Show the part at ``audioUrl`` with the server's ``peaksData``; resolves when drawn. */
  load(audioUrl, peaksData) {
    const { peaks, duration } = peaksFor(peaksData);
    this.duration = duration;
    this.ready = this.ws.load(audioUrl, peaks, duration).catch(() => {});
    return this.ready;
  }

  /** Draw the trim and the cuts of ``edits`` over the waveform. */
  show(edits, words) {
    const end = edits.trim_end ?? this.duration;
    this.regions.clearRegions();
    if (!this.duration) return;
    cutSpans(edits, words).forEach(([start, stop]) => {
      this.regions.addRegion({ start, end: stop, color: CUT, drag: false, resize: false });
    });
    this.trim = this.regions.addRegion({ start: edits.trim_start || 0, end, color: KEPT,
      drag: false, resize: true, minLength: 0.1 });
    this.trim.on('update-end', () => this.onTrim({ start: this.trim.start, end: this.trim.end }));
    this.mark(this.chosen);
  }

  /** "Cut a stretch" mode on or off. While on, the trim's and the cuts' regions let the
   *  mouse through (else they would take the drag), and the play position stays put. */
  choosing(on) {
    if (on === !!this.stopChoosing) return;
    if (on) {
      this.ws.setOptions({ dragToSeek: false });
      this.stopChoosing = this.regions.enableDragSelection(
        { id: CHOSEN_ID, color: CHOSEN, drag: false, minLength: 0.05 });
    } else {
      this.stopChoosing();
      this.stopChoosing = null;
      this.ws.setOptions({ dragToSeek: true });
    }
    this.container.classList.toggle('is-choosing', on);
    this.quiet();
  }

  quiet() {
    const through = this.stopChoosing ? 'none' : 'all';
    this.regions.getRegions().forEach((r) => {
      if (r.element && r.id !== CHOSEN_ID) r.element.style.pointerEvents = through;
    });
  }

  chose(region) {
    this.regions.getRegions().forEach((r) => { if (r.id === CHOSEN_ID && r !== region) r.remove(); });
    this.chosen = { start: region.start, end: region.end };
    if (!this.drawing) this.onChoose(this.chosen);
  }

  /** Show ``span`` ({start, end}, seconds) as the chosen stretch; null shows none. */
  mark(span) {
    this.regions.getRegions().filter((r) => r.id === CHOSEN_ID).forEach((r) => r.remove());
    this.chosen = span;
    if (span && this.duration) {
      this.drawing = true;
      this.regions.addRegion({ id: CHOSEN_ID, start: span.start, end: span.end, color: CHOSEN,
        drag: false, resize: true, minLength: 0.05 });
      this.drawing = false;
    }
    this.quiet();
  }

  playPause() {
    return this.ws.playPause();
  }

  seek(seconds) {
    if (this.duration) this.ws.setTime(Math.max(0, Math.min(this.duration, seconds)));
  }

  time() {
    return this.ws.getCurrentTime();
  }

  destroy() {
    this.ws.destroy();
  }
}
