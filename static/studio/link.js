/* Step 2: recording a co-host's own link between entries, with the kiosk's recorder
 * (static/kiosk/recorder.js: microphone, level meter, MediaRecorder, maximum length) and
 * its meter and length helpers. Listen back, then "Add this recording" sends it to the
 * server as a multipart upload; ``onSent`` gets the server's answer.
 */
import { Recorder } from '../kiosk/recorder.js';
import { LevelMeter, learnDuration } from '../kiosk/view.js';
import { clock } from './format.js';

const MAX_SECONDS = 600;  // a link is short; ten minutes is plenty

export class LinkRecorder {
  constructor(root, { api, url, onSent }) {
    Object.assign(this, { root, api, url, onSent });
    const q = (id) => root.querySelector(`#${id}`);
    this.el = Object.fromEntries(['rec-start', 'rec-stop', 'rec-level', 'rec-time', 'rec-review',
      'rec-playback', 'rec-add', 'rec-again', 'rec-status', 'rec-live']
      .map((id) => [id, q(id)]));
    this.meter = new LevelMeter(this.el['rec-level']);
    this.take = null;
    if (!Recorder.supported()) return;
    root.hidden = false;
    this.el['rec-start'].addEventListener('click', () => this.start());
    this.el['rec-stop'].addEventListener('click', () => this.recorder && this.recorder.stop());
    this.el['rec-again'].addEventListener('click', () => { this.forget(); this.el['rec-start'].focus(); });
    this.el['rec-add'].addEventListener('click', () => this.send());
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
    if (state === 'idle') this.el['rec-start'].disabled = false;
  }

  review(take) {
    this.take = { ...take, url: URL.createObjectURL(take.blob) };
    const audio = this.el['rec-playback'];
    learnDuration(audio);
    audio.src = this.take.url;
    this.el['rec-review'].hidden = false;
    this.el['rec-start'].hidden = false;
    this.el['rec-start'].textContent = 'Record again';
    this.say(`Recorded ${clock(take.duration)}. Listen to it, then add it or record again.`);
    this.el['rec-add'].focus();
  }

  forget() {
    if (this.take) URL.revokeObjectURL(this.take.url);
    this.take = null;
    const audio = this.el['rec-playback'];
    audio.pause();
    audio.removeAttribute('src');
    this.el['rec-review'].hidden = true;
    this.el['rec-time'].textContent = clock(0);
  }

  async send() {
    if (!this.take) return;
    const form = new FormData();
    form.append('media', this.take.blob, this.take.filename);
    this.el['rec-add'].disabled = true;
    this.say('Sending your recording…');
    try {
      const answer = await this.api.postForm(this.url, form);
      this.forget();
      this.say('Your recording was added. It is being written out as words; that takes a minute.');
      await this.onSent(answer);
    } catch (e) {
      this.say(`Your recording was not sent: ${e.message} It is still here: try again.`, true);
    } finally {
      this.el['rec-add'].disabled = false;
    }
  }
}
