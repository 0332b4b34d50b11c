/* Capture: the microphone (and camera), a level meter, MediaRecorder with pause, resume
 * and a maximum length. No page in it: the kiosk (and the podcast studio, for co-host
 * recordings) give it callbacks and draw what it reports. Kept and sent by store.js and
 * upload.js. The pure helpers at the top are tested by tests/js/recorder.test.mjs.
 */

export const MIME_CHOICES = Object.freeze({
  video: ['video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4'],
  audio: ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4'],
});
const AUDIO_BITS = 64000;    // per second: speech, small uploads
const VIDEO_BITS = 1000000;  // per second
const TIMESLICE_MS = 1000;   // a chunk a second, so a stop loses nothing
const TICK_MS = 250;

/** The first type this browser can record for ``kind``, or "" (the browser's own choice). */
export function pickMime(kind, isSupported) {
  const options = MIME_CHOICES[kind === 'video' ? 'video' : 'audio'];
  return options.find((type) => isSupported && isSupported(type)) || '';
}

/** A sensible file type and name for what was recorded. */
export function fileFor(type, kind) {
  const mime = type || (kind === 'video' ? 'video/webm' : 'audio/webm');
  return { type: mime, filename: `recording.${mime.includes('mp4') ? 'mp4' : 'webm'}` };
}

/** 0..100 from a block of samples: -60 dB is silence on the meter, -10 dB is full. */
export function levelOf(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  const db = rms > 0 ? 20 * Math.log10(rms) : -100;
  return Math.max(0, Math.min(100, (db + 60) * 2));
}

/** Seconds before the end to warn: a minute, or half the maximum if that is shorter. */
export function warnBefore(maxSeconds) {
  return Math.min(60, Math.floor(maxSeconds / 2));
}

/** What ``getUserMedia`` is asked for: sound alone never asks for the camera. */
export function constraintsFor(kind) {
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (kind !== 'video') return { audio };
  return { audio, video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' } };
}

/**
 * One recording at a time. ``state`` is idle, preparing, ready, recording, paused or
 * stopping. Callbacks (all optional): onState(state), onLevel(0..100), onTick(seconds),
 * onWarn(secondsLeft), onDone({blob, type, filename, duration, autoStopped}).
 */
export class Recorder {
  constructor({ kind = 'audio', maxSeconds = 900, media = globalThis.navigator?.mediaDevices,
    onState = () => {}, onLevel = () => {}, onTick = () => {}, onWarn = () => {},
    onDone = () => {} } = {}) {
    Object.assign(this, { kind, maxSeconds, media, onState, onLevel, onTick, onWarn, onDone });
    this.state = 'idle';
    this.stream = null;
    this.ticket = 0;  // only the latest prepare() may keep the stream it gets
  }

  static supported() {
    return !!(globalThis.navigator?.mediaDevices?.getUserMedia && globalThis.MediaRecorder);
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }

  /** Ask for the microphone (and camera); resolves to the stream, or rejects. */
  async prepare() {
    this.release();
    const ticket = ++this.ticket;
    this.setState('preparing');
    if (!Recorder.supported()) throw new Error('cannot record here');
    const stream = await this.media.getUserMedia(constraintsFor(this.kind));
    if (ticket !== this.ticket) {  // let go of it: released or asked again meanwhile
      stream.getTracks().forEach((t) => t.stop());
      throw new Error('superseded');
    }
    this.stream = stream;
    this.startMeter(stream);
    this.setState('ready');
    return stream;
  }

  startMeter(stream) {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    this.audioCtx = ctx;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let shown = 0;
    const frame = () => {
      if (this.audioCtx !== ctx) return;
      analyser.getFloatTimeDomainData(samples);
      const level = levelOf(samples);
      shown = level > shown ? level : shown * 0.9 + level * 0.1;  // rise fast, fall slowly
      this.onLevel(shown);
      this.meterFrame = requestAnimationFrame(frame);
    };
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    this.meterFrame = requestAnimationFrame(frame);
  }

  start() {
    if (!this.stream || this.state !== 'ready') return false;
    if (this.audioCtx && this.audioCtx.state === 'suspended') this.audioCtx.resume().catch(() => {});
    this.mime = pickMime(this.kind, globalThis.MediaRecorder.isTypeSupported?.bind(globalThis.MediaRecorder));
    const options = this.mime ? { mimeType: this.mime } : {};
    if (this.kind === 'video') options.videoBitsPerSecond = VIDEO_BITS;
    options.audioBitsPerSecond = AUDIO_BITS;
    const recorder = new globalThis.MediaRecorder(this.stream, options);  // may throw
    this.recorder = recorder;
    this.chunks = [];
    this.autoStopped = false;
    this.warned = false;
    this.before = 0;
    recorder.ondataavailable = (event) => { if (event.data && event.data.size) this.chunks.push(event.data); };
    recorder.onstop = () => this.finished(recorder);
    recorder.start(TIMESLICE_MS);
    this.segmentStart = performance.now();
    this.tick = setInterval(() => this.onTickTimer(), TICK_MS);
    this.setState('recording');
    return true;
  }

  elapsed() {
    const running = this.state === 'recording' ? (performance.now() - this.segmentStart) / 1000 : 0;
    return (this.before || 0) + running;
  }

  onTickTimer() {
    const seconds = this.elapsed();
    this.onTick(seconds);
    const lead = warnBefore(this.maxSeconds);
    if (!this.warned && seconds >= this.maxSeconds - lead) {
      this.warned = true;
      this.onWarn(lead);
    }
    if (seconds >= this.maxSeconds) {
      this.autoStopped = true;
      this.stop();
    }
  }

  pause() {
    if (this.state !== 'recording') return;
    this.recorder.pause();
    this.before = this.elapsed();
    this.setState('paused');
  }

  resume() {
    if (this.state !== 'paused') return;
    this.recorder.resume();
    this.segmentStart = performance.now();
    this.setState('recording');
  }

  stop() {
    if (this.state !== 'recording' && this.state !== 'paused') return;
    this.before = this.elapsed();
    clearInterval(this.tick);
    this.setState('stopping');
    this.recorder.stop();
  }

  finished(recorder) {
    if (this.recorder !== recorder) return;  // discarded meanwhile
    this.recorder = null;
    const file = fileFor(recorder.mimeType || this.mime, this.kind);
    const blob = new Blob(this.chunks, { type: file.type });
    this.chunks = [];
    const duration = this.before;
    const autoStopped = this.autoStopped;
    this.release();
    this.onDone({ blob, ...file, duration, autoStopped });
  }

  /** Stop everything and keep nothing: microphone, camera, meter and what was recorded. */
  release() {
    this.ticket++;
    const recorder = this.recorder;
    this.recorder = null;
    try { if (recorder && recorder.state !== 'inactive') recorder.stop(); } catch (e) { /* gone */ }
    clearInterval(this.tick);
    this.chunks = [];
    if (this.meterFrame) cancelAnimationFrame(this.meterFrame);
    this.meterFrame = 0;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.audioCtx) this.audioCtx.close().catch(() => {});
    this.audioCtx = null;
    if (this.state !== 'idle') this.setState('idle');
    this.onLevel(0);
  }
}
