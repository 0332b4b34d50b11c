/* The kiosk page's wiring: reads the page, connects the modules, draws what they report.
 * The rules live elsewhere: screens.js (which screen follows which), consent.js (with the
 * server's consent rules), receipt.js (codes), recorder.js, store.js and upload.js
 * (capture, keep until the server has it, send), speech.js and idle.js.
 *
 * Promises this page keeps:
 * - Nothing is kept unless the person presses "Keep it" (or "Send it" for writing).
 * - A kept entry is written to IndexedDB before anything is sent, and only removed from
 *   there after the server has answered 201 to /kiosk/entries.
 * - Going idle, or "Finish", wipes everything that was not kept: the page, media streams,
 *   object URLs, sessionStorage, stale tus fingerprints and unkept IndexedDB records.
 *
 * Test hooks (harmless): body[data-screen] is the current screen; after a save the receipt
 * code is on screen and body[data-last-sha256] holds the SHA-256 of the bytes uploaded.
 */
import { ConsentForm } from './consent.js';
import { IdleWatch } from './idle.js';
import { normalise } from './receipt.js';
import { Recorder } from './recorder.js';
import { Flow, stepOf } from './screens.js';
import { Speaker } from './speech.js';
import { RecordStore, idbBackend, staleFingerprints, stillHere } from './store.js';
import { Uploader } from './upload.js';
import { LevelMeter, clock, fill, formatDate, learnDuration } from './view.js';
import { postJson as post, refreshCsrf as freshToken, sha256Hex } from './requests.js';

const body = document.body;
const $ = (id) => document.getElementById(id);
const all = (selector, root = document) => [...root.querySelectorAll(selector)];
const json = (id) => JSON.parse($(id).textContent);
const number = (name, fallback) => parseInt(body.dataset[name], 10) || fallback;
// randomUUID needs a secure context; a kiosk on plain HTTP in a LAN still needs ids.
const newId = () => (crypto.randomUUID ? crypto.randomUUID()
  : Date.now().toString(36) + Math.random().toString(36).slice(2));

const DATA = json('kiosk-data');
const T = DATA.text;
const LANG = document.documentElement.lang || 'en-GB';
const csrfMeta = document.querySelector('meta[name="csrf-token"]');
const idleSeconds = () => Math.max(1, number('idleSeconds', 120));
const hasCards = all('[data-action="card"]').length > 1;

// --- what this person has done so far (wiped by reset) ---------------------------------
let visit = {};
let generation = 0;  // bumped by every reset: late callbacks from before it do nothing
const freshVisit = () => ({ card: null, consent: null, take: null, code: null, failed: null });
visit = freshVisit();

// Text the script wrote into the page, so a reset can take it all away again.
const written = new Set();
function put(id, text) { $(id).textContent = text || ''; written.add(id); }
function note(id, text) { put(id, text); $(id).hidden = !text; }

const speaker = new Speaker({ lang: LANG, urls: DATA.urls, texts: T });
const store = new RecordStore(idbBackend());
const uploader = new Uploader({
  uploads: new URL(DATA.urls.uploads, location.href).href, entries: DATA.urls.entries,
  csrf: () => csrfMeta.content, refreshCsrf: () => freshToken(csrfMeta), chunkSize: () => number('chunkSize', 1 << 20), store,
});
const rules = json('consent-rules');
const consentIn = new ConsentForm(document, 'c', rules);
const consentChange = new ConsentForm(document, 'm', rules);

// --- screens ---------------------------------------------------------------------------
const flow = new Flow({ hasCards, onChange: showScreen });
const ENTER = { welcome: reset, record: prepareMedia, change: reset };

function announce(text) {
  $('announcer').textContent = '';
  setTimeout(() => { $('announcer').textContent = text; }, 50);
}

function showScreen(to, from) {
  if (from === 'record') { recorder.release(); forgetPreview(); }
  if (ENTER[to]) ENTER[to]();
  let section = null;
  all('section.screen').forEach((s) => { s.hidden = s.dataset.screen !== to; if (!s.hidden) section = s; });
  body.dataset.screen = to;
  all('[data-only-kind]').forEach((el) => {
    el.hidden = !flow.kind || !el.dataset.onlyKind.split(' ').includes(flow.kind);
  });
  const step = stepOf(to, flow.context);
  all('[data-step]', section).forEach((el) => { el.textContent = step ? fill(T.step, step) : ''; });
  speaker.stop();
  idle.close();
  const heading = section.querySelector('h1');
  const title = heading.innerText.replace(/\s+/g, ' ').trim();
  document.title = title === T.app_name ? title : `${title} · ${T.app_name}`;
  // Every screen starts at its top, its heading focused for screen readers and keyboards.
  window.scrollTo(0, 0);
  heading.focus({ preventScroll: true });
  announce(title);
  idle.restart();
}

function send(event, detail) {
  return flow.send(event, detail);
}

// --- recording -------------------------------------------------------------------------
let recorder = new Recorder();
const meter = new LevelMeter($('level'));
const controls = Object.fromEntries(['record', 'pause', 'resume', 'stop']
  .map((a) => [a, document.querySelector(`[data-action="${a}"]`)]));
function drawRecording(mode, message) {
  const c = controls;
  c.record.hidden = !['preparing', 'ready', 'idle'].includes(mode);
  c.record.disabled = mode !== 'ready';
  c.pause.hidden = mode !== 'recording';
  c.resume.hidden = mode !== 'paused';
  c.stop.hidden = !['recording', 'paused'].includes(mode);
  $('media-error').hidden = mode !== 'error';
  if (mode === 'error') { put('media-error-text', message); c.record.hidden = true; }
  // While it records: no "press the big button to start", no Back, nothing read aloud.
  const lead = { recording: 'recording', paused: null }[mode] ?? 'ready';
  all('[data-record-lead]').forEach((el) => { el.hidden = el.dataset.recordLead !== lead; });
  all('[data-hide-while-recording]').forEach((el) => { el.hidden = ['recording', 'paused'].includes(mode); });
  $('screen-record').querySelector('.speak').hidden = mode === 'recording';
  if (mode === 'recording') speaker.stop();
  const status = { preparing: flow.kind === 'video' ? T.preparing_video : T.preparing_audio,
    ready: T.ready, recording: T.recording, paused: T.paused }[mode] || '';
  put('record-status', status);
  $('record-status').dataset.mode = mode;
  if (mode !== 'preparing' && status) announce(status);
  // The button pressed has gone: keep the keyboard where the next press will be.
  const next = { recording: c.stop, paused: c.resume }[mode];
  if (next && (document.activeElement === document.body || document.activeElement?.hidden
    || [c.record, c.pause, c.resume].includes(document.activeElement))) next.focus();
}

async function prepareMedia() {
  recorder.release();
  const mine = generation;
  const kind = flow.kind;
  recorder = new Recorder({
    kind, maxSeconds: number('maxSeconds', DATA.maxSeconds || 900),
    onState: drawRecording, onLevel: (level) => meter.draw(level),
    onTick: (seconds) => { put('elapsed', clock(seconds)); idle.restart(); },
    onWarn: (lead) => {
      const words = fill(lead === 60 ? T.one_minute : T.seconds_left, { n: lead, max: clock(recorder.maxSeconds) });
      note('time-warning', words);
      announce(words);
    },
    onDone: (take) => { if (mine === generation) showReview(take); },
  });
  put('elapsed', clock(0));
  put('max-clock', clock(recorder.maxSeconds));
  note('time-warning', '');
  if (!Recorder.supported()) { drawRecording('error', T.no_recorder); return; }
  let stream;
  try {
    stream = await recorder.prepare();
  } catch (e) {
    if (mine === generation && flow.screen === 'record' && e.message !== 'superseded') {
      drawRecording('error', kind === 'video' ? T.camera_error : T.mic_error);
    }
    return;
  }
  if (kind === 'video') {
    const preview = $('preview');
    preview.srcObject = stream;
    preview.hidden = false;
    preview.play().catch(() => {});
  }
}

function startRecording() {
  try {
    recorder.start();
  } catch (e) {
    drawRecording('error', T.no_recorder);
  }
}

function forgetPreview() {
  const preview = $('preview');
  preview.pause();
  preview.srcObject = null;
  preview.hidden = true;
}

function forgetRecording() {
  all('.playback').forEach((media) => {
    media.pause();
    media.removeAttribute('src');
    delete media.dataset.duration;
    media.hidden = true;
    try { media.load(); } catch (e) { /* nothing loaded */ }
  });
  if (visit.take && visit.take.url) URL.revokeObjectURL(visit.take.url);
  visit.take = null;
}

function showReview(take) {
  forgetPreview();
  forgetRecording();
  visit.take = { ...take, url: URL.createObjectURL(take.blob) };
  const media = $(flow.kind === 'video' ? 'playback-video' : 'playback-audio');
  learnDuration(media);
  media.src = visit.take.url;
  media.hidden = false;
  put('review-length', fill(T.length, { time: clock(take.duration) }));
  note('auto-stopped', take.autoStopped ? T.auto_stopped : '');
  send('stopped');
}

// --- saving ----------------------------------------------------------------------------
const PROBLEMS = { retry: 'saving_retry', full: 'saving_full', problem: 'saving_problem' };

// What the saving screen shows, for as long as this person is still here.
function viewFor(record, showCode) {
  const mine = generation;
  const here = () => mine === generation;
  return {
    progress(fraction) {
      if (!here()) return;
      record.touchedAt = Date.now();
      const percent = Math.floor(fraction * 100);
      $('saving-progress').value = percent;
      put('saving-status', fill(T.saving_percent, { percent }));
      $('saving-error').hidden = true;
    },
    problem(reason, message) { if (here()) put('saving-status', message || T[PROBLEMS[reason]]); },
    failed(message) {
      if (!here()) return;
      put('saving-error-text', message || T.saving_problem);
      $('saving-error').hidden = false;
      visit.failed = record;
    },
    done(data, rec) {
      if (rec.sha256) body.dataset.lastSha256 = rec.sha256;
      if (!here()) return;
      const shown = showCode && !!data.receipt_code;
      put('receipt-code', shown ? data.receipt_code : '');
      body.dataset.receiptShown = String(shown);
      all('[data-receipt-shown]').forEach((el) => { el.hidden = !shown; });
      note('receipt-hidden', shown ? '' : (data.receipt_code ? T.saved_earlier : T.saved_no_code));
      send('saved');
    },
  };
}

function startSaving(record, { event = null, resumed = false, showCode = true } = {}) {
  $('saving-progress').value = 0;
  $('saving-progress-wrap').hidden = record.kind === 'text';
  put('saving-status', '');
  $('saving-error').hidden = true;
  note('saving-resumed', resumed ? T.still_saving : '');
  if (event) send(event);
  uploader.save(record, viewFor(record, showCode));
}

async function keep() {
  const take = visit.take;
  if (!take) return;
  const record = await store.keep({
    id: newId(), kind: flow.kind, consent: visit.consent, promptId: visit.card,
    blob: take.blob, type: take.type, filename: take.filename,
    sha256: await sha256Hex(take.blob).catch(() => null), uploadUrl: null, uploadId: null,
  });
  forgetRecording();
  startSaving(record, { event: 'keep' });
}

async function sendText() {
  const record = await store.keep({ id: newId(), kind: 'text', text: $('write-text').value,
    consent: visit.consent, promptId: visit.card });
  $('write-text').value = '';
  updateCount();
  startSaving(record, { event: 'next' });
}

// After a reload: anything kept but not yet confirmed by the server is sent now.
async function resumeKept(kept) {
  if (!kept.length) return;
  const [latest, ...older] = kept;
  older.forEach((r) => uploader.save(r, viewFor(r, false)));
  // The code is only shown if the person who made it is very likely still here.
  if (flow.screen === 'welcome') {
    startSaving(latest, { event: 'resume', resumed: true, showCode: stillHere(latest, idleSeconds()) });
  } else uploader.save(latest, viewFor(latest, false));
}

const postJson = (url, data) => post(url, data, {
  meta: csrfMeta, messages: { network: T.network, 404: T.not_found, 429: T.too_many } });

// --- writing, and changing your mind ---------------------------------------------------
// How much room is left, in words rather than counts: plenty, a little, none.
const NEARLY_FULL = 0.9;
function updateCount() {
  const used = $('write-text').value.length / DATA.maxTextChars;
  put('write-count', used >= 1 ? T.write_full : used >= NEARLY_FULL ? T.write_nearly : T.write_count);
}

function showFound(data) {
  const consent = data.consent || {};
  put('found-received', data.received ? formatDate(data.received, LANG) : '');
  put('found-audience', T[`audience_${consent.audience}`] || consent.audience);
  // A written entry has no voice to disguise: say nothing about it.
  $('found-voice-label').hidden = $('found-voice').hidden = data.kind === 'text';
  put('found-voice', consent.voice === 'natural' ? T.voice_natural : T.voice_disguise);
  put('found-panel', consent.panel_quotes ? T.panel_yes : T.panel_no);
  // Taken back already: nothing is offered, only that is said (and read aloud).
  showWithdrawn(data.status === 'withdrawn');
  consentChange.set(consent, data.kind);
  note('change-error', '');
  send('found');
}

function showWithdrawn(withdrawn) {
  all('[data-when-active]').forEach((el) => { el.hidden = withdrawn; });
  all('[data-when-withdrawn]').forEach((el) => { el.hidden = !withdrawn; });
}

/** The done screen says what was done: "changed" or "withdrawn". */
function showDone(event, done) {
  all('[data-done]').forEach((el) => { el.hidden = el.dataset.done !== done; });
  send(event);
}

// --- going back to the start, and wiping what was not kept ------------------------------
async function wipeStorage() {
  try { sessionStorage.clear(); } catch (e) { /* not available */ }
  const kept = await store.wipeUnkept();
  try {
    const entries = Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]);
    staleFingerprints(entries, kept.map((r) => r.uploadUrl).filter(Boolean))
      .forEach((k) => localStorage.removeItem(k));
  } catch (e) { /* not available */ }
  return kept;
}

function reset() {
  generation++;
  recorder.release();
  forgetPreview();
  forgetRecording();
  speaker.stop();
  visit = freshVisit();
  consentIn.reset();
  consentChange.reset();
  written.forEach((id) => { $(id).textContent = ''; });
  $('write-text').value = '';
  updateCount();
  $('receipt-input').value = '';
  ['lookup-error', 'write-error', 'change-error', 'withdraw-error', 'saving-error']
    .forEach((id) => { $(id).hidden = true; });
  all('[data-question]').forEach((el) => { el.textContent = ''; el.hidden = true; });
  showWithdrawn(false);
  $('saving-progress').value = 0;
  return wipeStorage();
}

// --- idle ------------------------------------------------------------------------------
// Its words say that a paused or unsaved recording will be thrown away.
const idle = new IdleWatch({
  dialog: $('idle-dialog'), countEl: $('idle-count'), texts: T,
  seconds: idleSeconds,
  // 20 seconds' warning, or a quarter of the idle time if that is shorter.
  warnSeconds: () => number('idleWarningSeconds', 0) || Math.max(1, Math.min(20, Math.round(idleSeconds() / 4))),
  active: () => flow.screen !== 'welcome',
  busy: () => recorder.state === 'recording' || speaker.busy()
    || all('.playback').some((m) => !m.paused && !m.ended),
  onTimeout: () => send('idle'),
  onBack: () => {
    speaker.stop();
    document.querySelector('section.screen:not([hidden]) h1')?.focus();
  },
});
all('.playback').forEach((m) => m.addEventListener('timeupdate', () => idle.restart()));

// --- what each button does ---------------------------------------------------------------
// Buttons that only move between screens: data-action -> the flow's event.
const MOVES = { back: 'back', home: 'home', finish: 'finish', discard: 'discard', withdraw: 'withdraw',
  'discard-no': 'no', 'discard-yes': 'yes', 'finish-no': 'no', 'finish-yes': 'yes', 'withdraw-no': 'no' };

const actions = {
  start(button) {
    const kind = button.dataset.kind;
    recorder.release();
    forgetRecording();
    visit.card = null;
    consentIn.reset(kind);
    all('[data-question]').forEach((el) => { el.hidden = true; el.textContent = ''; });
    send('start', { kind });
  },
  change() { send('change'); },
  card(button) {
    visit.card = button.dataset.cardId ? parseInt(button.dataset.cardId, 10) : null;
    const text = visit.card ? button.textContent.trim() : '';
    all('[data-question]').forEach((el) => { el.textContent = text ? `${T.your_question} ${text}` : ''; el.hidden = !text; });
    send('card');
  },
  record: startRecording,
  pause: () => recorder.pause(),
  resume: () => recorder.resume(),
  stop: () => recorder.stop(),
  'retry-media': prepareMedia,
  keep(button) { button.disabled = true; keep().finally(() => { button.disabled = false; }); },
  again() { forgetRecording(); send('again'); },
  'retry-save'() {
    const record = visit.failed;
    if (record) { visit.failed = null; startSaving(record); }
  },
  'say-code'(button) { speaker.sayCode(button, $('receipt-code').textContent.trim()); },
  print() { window.print(); },
  async 'withdraw-yes'(button) {
    button.disabled = true;
    const result = await postJson(DATA.urls.withdraw, { code: visit.code });
    button.disabled = false;
    if (!result.ok) { note('withdraw-error', result.message); return; }
    showDone('yes', 'withdrawn');
  },
  'still-here'() { idle.stillHere(); },
};

document.addEventListener('click', (event) => {
  const speak = event.target.closest('[data-say]');
  if (speak) { speaker.say(speak); return; }
  const button = event.target.closest('[data-action]');
  if (!button || button.disabled) return;
  const name = button.dataset.action;
  if (actions[name]) actions[name](button);
  else if (MOVES[name]) send(MOVES[name]);
});

$('consent-form').addEventListener('submit', (event) => {
  event.preventDefault();
  visit.consent = consentIn.read();
  if (flow.kind === 'text') sendText(); else send('next');
});

$('write-text').addEventListener('input', () => {
  updateCount();
  if ($('write-text').value.trim()) note('write-error', '');
});
$('write-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!$('write-text').value.trim()) {
    note('write-error', T.write_empty);
    $('write-text').focus();
    return;
  }
  send('next');
});

$('lookup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const typed = $('receipt-input').value;
  const code = normalise(typed);
  if (!code) {
    note('lookup-error', typed.trim() ? T.lookup_format : T.lookup_empty);
    $('receipt-input').focus();
    return;
  }
  note('lookup-error', '');
  const submit = event.target.querySelector('button[type="submit"]');
  submit.disabled = true;
  const result = await postJson(DATA.urls.lookup, { code });
  submit.disabled = false;
  if (!result.ok) {
    note('lookup-error', result.message);
    $('receipt-input').focus();
    return;
  }
  visit.code = code;
  showFound(result.data);
});

$('change-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const submit = event.target.querySelector('button[type="submit"]');
  submit.disabled = true;
  const result = await postJson(DATA.urls.consent, { code: visit.code, consent: consentChange.read() });
  submit.disabled = false;
  if (!result.ok) { note('change-error', result.message); return; }
  showDone('changed', 'changed');
});

// --- start -------------------------------------------------------------------------------
updateCount();
consentIn.reset();
consentChange.reset();
body.dataset.screen = 'welcome';
body.dataset.ready = 'true';
wipeStorage().then(resumeKept);
window.addEventListener('online', async () => {
  // Coming back online: anything waiting is tried again straight away.
  (await store.kept()).filter((r) => !uploader.busy(r)).forEach((r) => uploader.save(r, viewFor(r, false)));
});
