/* "Cut a stretch": a stretch of the part's sound is chosen by dragging across the
 * waveform (in this mode, so that a plain drag still moves the play position) or typed
 * in two boxes, from and to, in seconds of the part: the keyboard's way. "Cut this
 * stretch" adds it to the edit list's cut_ranges (edits.js); each cut stretch is shaded
 * on the waveform and listed here with "Put back". The words it takes are crossed out
 * by the transcript.
 */
import * as E from './edits.js';

const HELP = {
  off: 'Press “Cut a stretch”, then drag across the waveform over the sound to cut. Or type '
    + 'where the stretch starts and ends. Then press “Cut this stretch”.',
  on: 'Drag across the waveform over the sound to cut (you can drag its edges after), then '
    + 'press “Cut this stretch”. Press “Cut a stretch” again to stop.',
};

const seconds = (s) => `${Number(s).toFixed(2)} s`;

/** "from 1.20 s to 2.50 s (1.30 s)": a stretch in the seconds the boxes use. */
export function describeStretch([from, to]) {
  return `from ${seconds(from)} to ${seconds(to)} (${seconds(to - from)})`;
}

/** The index of the cut stretch that holds ``t`` seconds (-1 when none does). */
export function stretchAt(ranges, t) {
  return ranges.findIndex(([a, b]) => t >= a && t <= b);
}

export class StretchTool {
  /** ``onEdit(next, message)`` takes a new edit list; ``waveform()`` is the part's
   *  Waveform once it is drawn (null before). */
  constructor(root, { onEdit, waveform }) {
    Object.assign(this, { onEdit, waveform });
    const q = (id) => root.querySelector(`#${id}`);
    this.el = { mode: q('stretch-mode'), from: q('stretch-from'), to: q('stretch-to'),
      cut: q('cut-stretch'), list: q('stretches'), none: q('no-stretches'), help: q('stretch-help') };
    this.edits = E.normalise({});
    this.duration = 0;
    this.on = false;
    this.el.mode.addEventListener('click', () => this.setMode(!this.on));
    for (const box of [this.el.from, this.el.to]) box.addEventListener('input', () => this.typed());
    this.el.cut.addEventListener('click', () => this.cut());
    this.el.list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-stretch]');
      if (button) this.putBack(Number(button.dataset.stretch));
    });
    this.setMode(false);
  }

  /** The stretch in the boxes, or null. */
  chosen() {
    return E.stretch(this.el.from.value, this.el.to.value, this.duration);
  }

  setMode(on) {
    this.on = on;
    this.el.mode.setAttribute('aria-pressed', String(on));
    this.el.help.textContent = on ? HELP.on : HELP.off;
    const waveform = this.waveform();
    if (waveform) waveform.choosing(on);
  }

  /** A stretch dragged across on the waveform (or its edges moved). */
  choose({ start, end }) {
    const s = E.stretch(start, end, this.duration);
    this.el.from.value = s ? String(s[0]) : '';
    this.el.to.value = s ? String(s[1]) : '';
    this.el.cut.disabled = !s;
  }

  typed() {
    const s = this.chosen();
    const waveform = this.waveform();
    if (waveform) waveform.mark(s && { start: s[0], end: s[1] });
    this.el.cut.disabled = !s;
  }

  cut() {
    const s = this.chosen();
    if (!s) return;
    this.clear();
    this.onEdit(E.cutStretch(this.edits, s[0], s[1], this.duration),
      `Cut the stretch ${describeStretch(s)}.`);
    // The button is disabled now: the keyboard goes to the new stretch's "Put back".
    const i = stretchAt(this.edits.cut_ranges, s[0]);
    const back = this.el.list.querySelector(`button[data-stretch="${i}"]`);
    (back || this.el.from).focus();
  }

  putBack(index) {
    const s = this.edits.cut_ranges[index];
    if (!s) return;
    this.onEdit(E.putBackStretch(this.edits, index), `Put back the stretch ${describeStretch(s)}.`);
    this.el.from.focus();
  }

  clear() {
    this.el.from.value = '';
    this.el.to.value = '';
    this.el.cut.disabled = true;
    const waveform = this.waveform();
    if (waveform) waveform.mark(null);
  }

  /** Another part: out of the mode, nothing chosen. */
  reset() {
    this.setMode(false);
    this.clear();
  }

  /** Redraw the list of cut stretches from ``edits`` of a part ``duration`` s long. */
  update(edits, duration) {
    this.edits = E.normalise(edits);
    this.duration = duration;
    for (const box of [this.el.from, this.el.to]) box.max = duration ? String(duration) : '';
    this.el.cut.disabled = !this.chosen();
    // Drawn again only when the stretches change: a save must not take the keyboard away.
    const drawn = JSON.stringify(this.edits.cut_ranges);
    if (drawn === this.drawn) return;
    this.drawn = drawn;
    this.el.list.textContent = '';
    this.edits.cut_ranges.forEach((s, i) => {
      const li = document.createElement('li');
      const text = Object.assign(document.createElement('span'),
        { textContent: `Cut ${describeStretch(s)}` });
      const button = Object.assign(document.createElement('button'),
        { type: 'button', className: 'secondary', textContent: 'Put back' });
      button.dataset.stretch = String(i);
      button.append(Object.assign(document.createElement('span'),
        { className: 'visually-hidden', textContent: ` the stretch ${describeStretch(s)}` }));
      li.append(text, ' ', button);
      this.el.list.append(li);
    });
    this.el.list.hidden = this.edits.cut_ranges.length === 0;
    this.el.none.hidden = this.edits.cut_ranges.length > 0;
  }
}
