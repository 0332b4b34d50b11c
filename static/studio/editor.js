/* Step 3: editing the selected part. The waveform (waveform.js) and the words
 * (transcript.js) show the edit list; the controls here (and stretch.js, for stretches
 * cut on the waveform) change it through the pure functions of edits.js and hand each
 * new edit list to ``onEdit`` (the page saves it).
 * Nothing here talks to the server except for the part's peaks.
 */
import * as E from './edits.js';
import { clock, decibels, wordSpan } from './format.js';
import { StretchTool } from './stretch.js';
import { Transcript } from './transcript.js';
import { Waveform } from './waveform.js';

const $ = (root, id) => root.querySelector(`#${id}`);

export class Editor {
  constructor(root, { api, onEdit, onUndo }) {
    Object.assign(this, { root, api, onEdit, onUndo });
    this.segment = null;
    this.edits = E.normalise({});
    const q = (id) => $(root, id);
    this.el = Object.fromEntries(['editor', 'editor-empty', 'editor-title', 'editor-kind',
      'play', 'play-time', 'waveform', 'trim-start', 'trim-end', 'words', 'no-words',
      'word-tools', 'cut-words', 'put-back', 'selection-info', 'tidy', 'tidy-preview',
      'tidy-box', 'tidy-summary', 'tidy-list', 'tidy-apply', 'tidy-cancel', 'tidy-on',
      'tidy-off', 'gain', 'gain-value', 'crossfade', 'crossfade-help', 'undo', 'findings',
      'findings-list', 'waveform-status'].map((id) => [id, q(id)]));
    this.transcript = new Transcript(this.el.words, {
      onSelect: () => this.showTools(),
      onSeek: (t) => this.waveform && this.waveform.seek(t),
    });
    this.stretch = new StretchTool(root, { onEdit: (next, message) => this.edit(next, message),
      waveform: () => (this.waveform && this.waveform.duration ? this.waveform : null) });
    this.wire();
  }

  wire() {
    const el = this.el;
    const on = (node, type, fn) => node && node.addEventListener(type, fn);
    on(el.play, 'click', () => this.waveform && this.waveform.playPause());
    on(el['trim-start'], 'change', () => this.trimFromInputs());
    on(el['trim-end'], 'change', () => this.trimFromInputs());
    on(el['cut-words'], 'click', () => this.cut(true));
    on(el['put-back'], 'click', () => this.cut(false));
    on(el['tidy-preview'], 'click', () => this.preview());
    on(el['tidy-cancel'], 'click', () => { el['tidy-box'].hidden = true; el['tidy-preview'].focus(); });
    on(el['tidy-apply'], 'click', () => {
      this.edit(E.setRemovals(this.edits, true), `Removed: ${this.summary}.`);
      el['tidy-box'].hidden = true;
      el['tidy-off'].focus();
    });
    on(el['tidy-off'], 'click', () => {
      this.edit(E.setRemovals(this.edits, false), 'The ums and long pauses are back.');
      el['tidy-preview'].focus();
    });
    on(el.gain, 'input', () => { el['gain-value'].textContent = decibels(el.gain.value); });
    on(el.gain, 'change', () => this.edit(E.setGain(this.edits, el.gain.value),
      `Loudness ${decibels(el.gain.value)}.`));
    on(el.crossfade, 'change', () => this.edit(E.setCrossfade(this.edits, el.crossfade.value),
      `Fade from the part before: ${E.setCrossfade(this.edits, el.crossfade.value).crossfade} seconds.`));
    on(el.undo, 'click', async () => {
      await this.onUndo();
      this.keepFocus(null);
    });
    on(el['findings-list'], 'change', (event) => {
      const box = event.target.closest('input[data-finding]');
      if (box) this.edit(E.setFindingKept(this.edits, Number(box.dataset.finding), box.checked));
    });
  }

  edit(next, message) {
    this.onEdit(E.normalise(next), message);
  }

  /** Show ``segment`` (one of the state's) with ``edits`` (the page's copy). */
  async open(segment, edits, { first, canUndo }) {
    const fresh = !this.segment || this.segment.id !== segment.id
      || this.segment.audio_url !== segment.audio_url;
    this.segment = segment;
    this.first = first;
    this.el.editor.hidden = false;
    this.el['editor-empty'].hidden = true;
    this.el['editor-title'].textContent = segment.title || 'This part';
    if (fresh) { this.transcript.forget(); this.stretch.reset(); }
    this.update(edits, { canUndo });
    if (fresh) await this.loadWaveform(segment);
  }

  close() {
    this.segment = null;
    this.el.editor.hidden = true;
    this.el['editor-empty'].hidden = false;
  }

  async loadWaveform(segment) {
    const status = this.el['waveform-status'];
    status.textContent = 'Loading the waveform…';
    this.el.waveform.setAttribute('aria-busy', 'true');
    try {
      const peaks = await this.api.get(segment.peaks_url);
      if (this.segment !== segment) return;
      if (!this.waveform) {
        this.waveform = new Waveform(this.el.waveform, {
          onTrim: ({ start, end }) => this.trim(start, end),
          onTime: (t) => this.time(t),
          onPlay: (playing) => { this.el.play.textContent = playing ? 'Pause' : 'Play'; },
          onChoose: (span) => this.stretch.choose(span),
        });
      }
      await this.waveform.load(segment.audio_url, peaks);
      if (this.segment !== segment) return;
      this.waveform.show(this.edits, this.words());
      this.waveform.choosing(this.stretch.on);
      this.stretch.update(this.edits, this.duration());
      this.time(0);
      status.textContent = '';
    } catch (e) {
      status.textContent = `The waveform could not be shown: ${e.message}`;
    } finally {
      this.el.waveform.setAttribute('aria-busy', 'false');
    }
  }

  words() {
    return (this.segment && this.segment.words) || [];
  }

  duration() {
    return (this.waveform && this.waveform.duration) || (this.segment && this.segment.duration) || 0;
  }

  /** Redraw every control from ``edits``. */
  update(edits, { canUndo }) {
    this.edits = E.normalise(edits);
    const e = this.edits;
    const el = this.el;
    const words = this.words();
    const duration = this.duration();
    el['trim-start'].value = String(e.trim_start);
    el['trim-end'].value = String(e.trim_end ?? (duration ? Math.round(duration * 10) / 10 : ''));
    if (duration) { el['trim-start'].max = String(duration); el['trim-end'].max = String(duration); }
    el.gain.value = String(e.gain_db);
    el['gain-value'].textContent = decibels(e.gain_db);
    el.crossfade.value = String(e.crossfade);
    el.crossfade.disabled = !!this.first;
    el['crossfade-help'].textContent = this.first
      ? 'This is the first part: there is nothing before it to fade from.'
      : 'How many seconds this part overlaps the end of the part before it (0 to 5).';
    el.undo.disabled = !canUndo;
    el['no-words'].hidden = words.length > 0;
    el['word-tools'].hidden = words.length === 0;
    el.words.hidden = words.length === 0;
    el.tidy.hidden = words.length === 0;
    this.transcript.draw(words, e);
    this.stretch.update(e, duration);
    const tidied = e.remove_fillers || e.shorten_pauses;
    el['tidy-on'].hidden = !tidied;
    el['tidy-preview'].hidden = tidied;
    if (tidied) el['tidy-box'].hidden = true;
    this.showFindings();
    this.showTools();
    if (this.waveform && this.waveform.duration) this.waveform.show(e, words);
  }

  showTools() {
    const s = this.transcript.selected();
    this.el['cut-words'].disabled = !s || !s.kept;
    this.el['put-back'].disabled = !s || !s.cut;
    this.el['selection-info'].textContent = s
      ? `Selected: ${wordSpan(s.first, s.last)}.` : 'No words selected.';
  }

  cut(cutting) {
    const s = this.transcript.selected();
    if (!s) return;
    const next = cutting ? E.cutWords(this.edits, s.first, s.last) : E.putBack(this.edits, s.first, s.last);
    this.edit(next, `${cutting ? 'Cut' : 'Put back'} ${wordSpan(s.first, s.last)}.`);
    this.keepFocus(cutting ? this.el['put-back'] : this.el['cut-words']);
  }

  /** The button pressed may now be disabled: keep the keyboard on ``next`` instead. */
  keepFocus(next) {
    const here = document.activeElement;
    if (!here || !here.disabled) return;
    (next && !next.disabled ? next : this.el['editor-title']).focus();
  }

  trimFromInputs() {
    this.trim(this.el['trim-start'].value, this.el['trim-end'].value);
  }

  trim(start, end) {
    const next = E.setTrim(this.edits, { start: Number(start), end: end === '' ? null : Number(end) },
      this.duration());
    this.edit(next, `Starts at ${clock(next.trim_start)}, ends at ${clock(next.trim_end ?? this.duration())}.`);
  }

  preview() {
    const server = this.segment.preview;
    const p = server && Array.isArray(server.filler_words) ? server : E.removalsPreview(this.words(), this.edits);
    this.summary = E.describePreview(p);
    const el = this.el;
    el['tidy-summary'].textContent = this.summary;
    el['tidy-list'].textContent = '';
    const words = this.words();
    p.filler_words.forEach((i) => {
      el['tidy-list'].append(Object.assign(document.createElement('li'),
        { textContent: `“${String(words[i]?.text ?? '').trim()}” at ${clock(words[i]?.start)}` }));
    });
    p.pauses.forEach(([s, t]) => {
      el['tidy-list'].append(Object.assign(document.createElement('li'),
        { textContent: `A pause of ${(t - s).toFixed(1)} s at ${clock(s)}, made 0.5 s` }));
    });
    const nothing = !p.filler_words.length && !p.pauses.length;
    el['tidy-apply'].hidden = nothing;
    el['tidy-box'].hidden = false;
    el['tidy-summary'].focus();
  }

  showFindings() {
    const findings = (this.segment && this.segment.findings) || [];
    this.el.findings.hidden = findings.length === 0;
    const list = this.el['findings-list'];
    list.textContent = '';
    const kept = new Set(this.edits.keep_findings || []);
    findings.forEach((f, i) => {
      const id = `finding-${i}`;
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', id, checked: kept.has(i) });
      box.dataset.finding = String(i);
      const label = Object.assign(document.createElement('label'), { htmlFor: id,
        textContent: `Keep ${wordSpan(f.first, f.last)} (${String(f.type || 'detail').toLowerCase()})` });
      const li = document.createElement('li');
      li.append(box, ' ', label);
      list.append(li);
    });
  }

  time(t) {
    this.transcript.follow(t);
    this.el['play-time'].textContent = `${clock(t)} of ${clock(this.duration())}`;
  }
}
