/* The selected part's words, to edit the audio by editing the text. Select a word with a
 * click (or Enter or Space), a run of words with Shift (Shift+click, Shift+Enter, or
 * Shift and the arrow keys); the arrow keys, Home and End move between words, and only
 * one word is in the Tab order, so Tab leaves the transcript in one step. Cut words are
 * struck through and say "(cut)" to screen readers; "Put back" brings them back. While
 * the part plays, the word being said is marked.
 */
import { isCut, isFiller, wordsInStretches } from './edits.js';

/** The selection [first, last] from an anchor and a focus word (null when none). */
export function span(selection) {
  if (!selection) return null;
  return [Math.min(selection.anchor, selection.focus), Math.max(selection.anchor, selection.focus)];
}

/** The index of the last word starting at or before ``t`` (-1 before the first). */
export function wordAt(words, t) {
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

/** Whether two word lists are the same words at the same times (a part's state comes
 *  again after every save: its words are only drawn again if they changed). */
export function sameWords(a, b) {
  return a.length === b.length
    && a.every((w, i) => w.text === b[i].text && w.start === b[i].start && w.end === b[i].end);
}

const KEYS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

export class Transcript {
  constructor(box, { onSelect = () => {}, onSeek = () => {} } = {}) {
    Object.assign(this, { box, onSelect, onSeek });
    this.words = [];
    this.buttons = [];
    this.selection = null;
    this.current = -1;
    this.inStretch = new Set();
    box.addEventListener('click', (e) => this.clicked(e));
    box.addEventListener('keydown', (e) => this.key(e));
    box.addEventListener('keyup', (e) => {
      // A button clicks on Space's keyup: after Shift+Space that click is not wanted.
      if (e.key === ' ' && e.shiftKey) e.preventDefault();
    });
  }

  /** Draw ``words`` for ``edits`` (the selection is kept when the words are the same). */
  draw(words, edits) {
    const same = !this.fresh && sameWords(words, this.words);
    this.fresh = false;
    this.words = words;
    if (!same) {
      this.selection = null;
      this.current = -1;
      this.box.textContent = '';
      this.buttons = words.map((w, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'word';
        b.dataset.index = String(i);
        b.tabIndex = i === 0 ? 0 : -1;
        const text = document.createElement('span');
        text.className = 'word-text';
        text.textContent = String(w.text).trim();
        const note = document.createElement('span');
        note.className = 'visually-hidden word-note';
        b.append(text, note);
        return b;
      });
      this.buttons.forEach((b) => this.box.append(b, ' '));
    }
    this.mark(edits);
  }

  mark(edits) {
    this.edits = edits;
    // Words whose middle is in a cut stretch are gone too; "Put back" on the stretch
    // brings them back (a word's own "Put back" only undoes cut words).
    this.inStretch = new Set(wordsInStretches(this.words, edits.cut_ranges || []));
    const removing = !!edits.remove_fillers;
    this.buttons.forEach((b, i) => {
      const cut = isCut(edits, i) || this.inStretch.has(i);
      const removed = !cut && removing && isFiller(this.words[i].text);
      b.classList.toggle('cut', cut);
      b.classList.toggle('removed', removed);
      b.querySelector('.word-note').textContent = cut ? ' (cut)' : removed ? ' (removed um)' : '';
    });
    this.showSelection();
  }

  /** The next draw starts afresh (another part, even with the same words). */
  forget() {
    this.fresh = true;
  }

  select(index, extend) {
    if (index < 0 || index >= this.buttons.length) return;
    if (extend && this.selection) this.selection = { ...this.selection, focus: index };
    else this.selection = { anchor: index, focus: index };
    this.showSelection();
    this.onSelect(span(this.selection));
    this.onSeek(this.words[index].start);
  }

  clear() {
    this.selection = null;
    this.showSelection();
    this.onSelect(null);
  }

  showSelection() {
    const s = span(this.selection);
    this.buttons.forEach((b, i) => {
      const on = !!s && i >= s[0] && i <= s[1];
      b.classList.toggle('selected', on);
      b.setAttribute('aria-pressed', String(on));
    });
  }

  /** The selected span, and whether any of it is cut, and any of it is not. */
  selected() {
    const s = span(this.selection);
    if (!s) return null;
    let cut = false;
    let kept = false;
    for (let i = s[0]; i <= s[1]; i++) {
      if (isCut(this.edits, i)) cut = true; else if (!this.inStretch.has(i)) kept = true;
    }
    return { first: s[0], last: s[1], cut, kept };
  }

  moveFocus(index) {
    const b = this.buttons[index];
    if (!b) return;
    this.buttons.forEach((x) => { x.tabIndex = -1; });
    b.tabIndex = 0;
    b.focus();
  }

  clicked(event) {
    const b = event.target.closest('button.word');
    if (!b) return;
    const i = Number(b.dataset.index);
    this.moveFocus(i);
    this.select(i, event.shiftKey);
  }

  key(event) {
    const b = event.target.closest('button.word');
    if (!b) return;
    const i = Number(b.dataset.index);
    let to = null;
    if (KEYS[event.key]) to = i + KEYS[event.key];
    else if (event.key === 'Home') to = 0;
    else if (event.key === 'End') to = this.buttons.length - 1;
    if (to !== null) {
      event.preventDefault();
      to = Math.max(0, Math.min(this.buttons.length - 1, to));
      this.moveFocus(to);
      if (event.shiftKey) {
        if (!this.selection) this.selection = { anchor: i, focus: i };
        this.select(to, true);
      }
      return;
    }
    if (event.key === 'Escape' && this.selection) {
      event.preventDefault();
      this.clear();
      return;
    }
    if (event.shiftKey && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      if (!event.repeat) this.select(i, true);
    }
  }

  /** Mark the word being said at ``t`` seconds of the source. */
  follow(t) {
    const i = wordAt(this.words, t);
    if (i === this.current) return;
    if (this.buttons[this.current]) this.buttons[this.current].classList.remove('current');
    this.current = i;
    if (this.buttons[i]) this.buttons[i].classList.add('current');
  }
}
