/* Step 2: recording a co-host's own link between entries, with the kiosk's recorder
 * (static/kiosk/recorder.js: microphone, level meter, MediaRecorder, maximum length) and
 * its meter and length helpers. A take is kept in this browser (outbox.js, over the
 * kiosk's store) as soon as it is recorded; "Add this recording" sends it resumably with
 * the kiosk's tus uploader and ``onSent`` adds the server's recording as a part. A
 * dropped connection is said plainly and waited out; a take left unsent (a reload, a
 * closed tab) is offered again: "Send it" or "Delete it".
 *
 * Test hook (harmless): #link-recorder[data-chunk-size] is the bytes a tus request sends.
 */
import { Recorder } from '../kiosk/recorder.js';
import { refreshCsrf } from '../kiosk/requests.js';
import { Uploader } from '../kiosk/upload.js';
import { LevelMeter, learnDuration } from '../kiosk/view.js';
import { clock } from './format.js';
import { Outbox, offerText, problemText, recordOf, studioStore, unsentFor } from './outbox.js';

const MAX_SECONDS = 600;  // a link is short; ten minutes is plenty
const CHUNK = 1 << 20;    // bytes a tus request sends
const ADD_BELOW = 'Add it from “Recordings not in the episode yet” below.';
// randomUUID needs a secure context; a studio on plain HTTP in a LAN still needs ids.
const newId = () => (globalThis.crypto?.randomUUID ? crypto.randomUUID()
  : Date.now().toString(36) + Math.random().toString(36).slice(2));

export class LinkRecorder {
  /** ``who``: {episodeId, userId}; ``urls``: recordings and uploads (tus); ``onSent``
   *  adds the server's recording ({id, status}) as a part, resolving to whether it did. */
  constructor(root, { api, urls, who, onSent, onSaved }) {
    Object.assign(this, { root, api, who, onSent, onSaved });
    const q = (id) => root.querySelector(`#${id}`);
    this.el = Object.fromEntries(['rec-start', 'rec-stop', 'rec-level', 'rec-time', 'rec-review',
      'rec-playback', 'rec-add', 'rec-again', 'rec-status', 'rec-live', 'rec-sending',
      'rec-progress', 'rec-unsent', 'rec-unsent-text', 'rec-unsent-playback', 'rec-unsent-send',
      'rec-unsent-delete'].map((id) => [id, q(id)]));
    this.meter = new LevelMeter(this.el['rec-level']);
    this.take = null;     // the record in review: kept, not sent yet
    this.offered = null;  // the record offered after a reload
    this.store = studioStore();
    const meta = document.querySelector('meta[name="csrf-token"]');
    const uploader = new Uploader({ uploads: new URL(urls.uploads, location.href).href,
      entries: null, store: this.store, csrf: () => meta.content, refreshCsrf: () => refreshCsrf(meta),
      chunkSize: () => Number(root.dataset.chunkSize) || CHUNK });
    this.outbox = new Outbox({ store: this.store, uploader, refreshCsrf: () => refreshCsrf(meta),
      name: (uploadId) => api.post(urls.recordings, { upload_id: uploadId }) });
    root.hidden = false;
    this.el['rec-unsent-send'].addEventListener('click', () => this.sendOffered());
    this.el['rec-unsent-delete'].addEventListener('click', () => this.deleteOffered());
    this.offer();
    if (!Recorder.supported()) {
      this.el['rec-start'].disabled = true;
      this.say('This browser cannot record here. You can still upload a recording below.');
      return;
    }
    this.el['rec-start'].addEventListener('click', () => this.start());
    this.el['rec-stop'].addEventListener('click', () => this.recorder && this.recorder.stop());
    this.el['rec-again'].addEventListener('click', () => { this.forget(); this.el['rec-start'].focus(); });
    this.el['rec-add'].addEventListener('click', () => this.take && this.send(this.take));
  }

  say(text, error = false) {
    this.el['rec-status'].textContent = text;
    this.el['rec-status'].classList.toggle('is-error', error);
  }

  async start() {
    this.forget();
    this.recorder = new Recorder({
      kind: 'audio', maxSeconds: MAX_SECONDS,
      onState: (s) => this.drawState(s),
      onLevel: (level) => this.meter.draw(level),
      onTick: (seconds) => { this.el['rec-time'].textContent = clock(seconds); },
      onWarn: (lead) => this.say(`${lead} seconds left.`),
      onDone: (take) => this.review(take),
    });
    this.el['rec-start'].disabled = true;
    this.say('Asking for the microphone…');
    try {
      await this.recorder.prepare();
      this.recorder.start();
      this.el['rec-stop'].focus();
    } catch (e) {
      this.el['rec-start'].disabled = false;
      this.say('The microphone could not be used. Check it is plugged in and allowed, then try again.', true);
    }
  }

  drawState(state) {
    const recording = state === 'recording' || state === 'paused';
    this.el['rec-stop'].hidden = !recording;
    this.el['rec-start'].hidden = recording;
    this.el['rec-live'].hidden = !recording;
    if (state === 'recording') this.say('Recording. Press Stop when you have finished.');
    if (state === 'idle' && !this.sending) this.el['rec-start'].disabled = false;
  }

  async review(take) {
    // Kept before anything else happens: a reload or a closed tab loses nothing now.
    this.take = await this.store.keep(recordOf(take, { id: newId(), ...this.who }));
    this.play(this.el['rec-playback'], this.take);
    this.el['rec-review'].hidden = false;
    this.el['rec-start'].hidden = false;
    this.el['rec-start'].textContent = 'Record again';
    this.say(`Recorded ${clock(take.duration)}. Listen to it, then add it or record again.`);
    this.el['rec-add'].focus();
  }

  play(audio, record) {
    if (audio.src) URL.revokeObjectURL(audio.src);
    learnDuration(audio);
    audio.src = URL.createObjectURL(record.blob);
  }

  stopPlaying(audio) {
    audio.pause();
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.removeAttribute('src');
  }

  /** Throw the take in review away (here and in the store), unless it is being sent. */
  forget() {
    if (this.take && !this.outbox.busy(this.take)) this.store.confirmed(this.take);  // = delete
    this.take = null;
    this.stopPlaying(this.el['rec-playback']);
    this.el['rec-review'].hidden = true;
    this.el['rec-time'].textContent = clock(0);
  }

  /** A recording this person left unsent on this episode, offered again. */
  async offer() {
    const [next] = unsentFor(await this.store.kept(), this.who)
      .filter((r) => r !== this.take && r.id !== this.take?.id && !this.outbox.busy(r));
    this.offered = next || null;
    this.el['rec-unsent'].hidden = !next;
    if (!next) { this.stopPlaying(this.el['rec-unsent-playback']); return; }
    this.el['rec-unsent-text'].textContent = offerText(next);
    this.play(this.el['rec-unsent-playback'], next);
  }

  async sendOffered() {
    const record = this.offered;
    if (!record) return;
    this.el['rec-unsent'].hidden = true;
    this.stopPlaying(this.el['rec-unsent-playback']);
    this.el['rec-status'].focus();
    await this.send(record);
  }

  async deleteOffered() {
    if (!this.offered) return;
    await this.store.confirmed(this.offered);  // = delete: the person chose to
    this.say('The recording that was not sent is deleted.');
    await this.offer();
    (this.offered ? this.el['rec-unsent-send'] : this.el['rec-start']).focus();
  }

  busy(on) {
    this.sending = on;
    this.el['rec-add'].disabled = on;
    this.el['rec-again'].disabled = on;
    this.el['rec-start'].disabled = on || !Recorder.supported();
    this.el['rec-sending'].hidden = !on;
    this.el['rec-unsent-send'].disabled = on;
    this.root.setAttribute('aria-busy', String(on));
  }

  async send(record) {
    if (this.sending) return;
    this.busy(true);
    this.el['rec-progress'].value = 0;
    this.say('Sending your recording…');
    let troubled = false;
    const view = {
      progress: (fraction) => {
        this.el['rec-progress'].value = Math.round(fraction * 100);
        if (troubled) { troubled = false; this.say('The connection is back. Sending your recording…'); }
      },
      problem: (reason, message) => { troubled = true; this.say(problemText(reason, message), true); },
    };
    try {
      const result = await this.outbox.send(record, view);
      if (result.error !== undefined) {
        this.say(`Your recording was not taken: ${result.error || 'no reason was given.'} `
          + 'It is still on this computer: send it again, or record it again.', true);
        return;
      }
      if (record === this.take) this.forget();
      if (result.saved) {
        this.say(`Your recording had already reached the server. ${ADD_BELOW}`);
        await this.onSaved();
        return;
      }
      this.say('Your recording was sent. Adding it to the episode…');
      const added = await this.onSent(result.recording).catch((e) => {
        this.say(`Your recording was sent but not added: ${e.message} ${ADD_BELOW}`, true);
        return null;
      });
      if (added) this.say('Your recording was added. It is being written out as words; that takes a minute.');
      else if (added === false) this.say(`Your recording was sent. ${ADD_BELOW}`, true);
    } finally {
      this.busy(false);
      this.offer();
    }
  }
}
