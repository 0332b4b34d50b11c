/* The kiosk's recording flow: one page, one screen at a time.
 *
 * Promises this file keeps:
 * - Nothing is kept unless the person presses "Keep it" (or "Send it" for writing).
 * - A kept entry is written to IndexedDB before anything is sent, and only removed from
 *   there after the server has answered 201 to /kiosk/entries. Uploads are resumable
 *   (tus), retried for hours, and resumed after a reload or a server restart.
 * - Going idle, or "Finish", wipes everything that was not kept: the page, media streams,
 *   object URLs, sessionStorage, stale tus fingerprints and unkept IndexedDB records.
 *
 * Test hooks (harmless): body[data-screen] is the current screen; after a save the receipt
 * code is on screen and body[data-last-sha256] holds the SHA-256 of the bytes uploaded.
 */
(function () {
  'use strict';

  var body = document.body;
  var DATA = JSON.parse(document.getElementById('kiosk-data').textContent);
  var T = DATA.text;
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var LANG = document.documentElement.lang || 'en-GB';
  var DB_NAME = 'diaryroom-kiosk';
  var STORE = 'entries';
  var KEPT = 'kept';
  // Retry for a long time: a dropped network or a restarting server must not lose anything.
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 10000, 10000, 10000, 10000, 10000];
  (function () {
    var i;
    for (i = 0; i < 20; i++) RETRY_DELAYS.push(30000);
    for (i = 0; i < 480; i++) RETRY_DELAYS.push(60000);  // about eight hours more
  })();

  function $(id) { return document.getElementById(id); }
  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var s = seconds % 60;
    return Math.floor(seconds / 60) + ':' + (s < 10 ? '0' : '') + s;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function absolute(path) { return new URL(path, window.location.href).href; }
  function chunkSize() { return parseInt(body.dataset.chunkSize, 10) || 1024 * 1024; }
  function maxSeconds() { return parseInt(body.dataset.maxSeconds, 10) || DATA.maxSeconds || 900; }
  function idleSeconds() { return Math.max(1, parseInt(body.dataset.idleSeconds, 10) || 120); }

  // --- the page's state (wiped by reset) ---------------------------------------------
  var state = {};
  var generation = 0;  // bumped by every reset: late callbacks from before it do nothing
  function freshState() {
    state = {
      kind: null, cardId: null, cardText: '', consent: null, screen: 'welcome',
      stream: null, audioCtx: null, meterFrame: 0, meterLast: 0,
      recorder: null, chunks: [], mime: '', recording: 'idle', elapsedBefore: 0,
      segmentStart: 0, tick: 0, warned: false, autoStopped: false, discardOnStop: false,
      blob: null, blobUrl: null, duration: 0,
      code: null, found: null, voiceTouched: false
    };
  }
  freshState();

  // --- screens -----------------------------------------------------------------------
  var screens = all('section.screen');
  var announcer = $('announcer');

  function flowSteps() {
    var hasCards = all('[data-action="card"]').length > 1;
    var steps = state.kind === 'text' ? ['write', 'consent', 'receipt'] : ['consent', 'record', 'review', 'receipt'];
    return hasCards ? ['cards'].concat(steps) : steps;
  }
  var STEP_OF = { discard: null, saving: 'receipt' };

  function applyKind() {
    all('[data-only-kind]').forEach(function (el) {
      el.hidden = !state.kind || el.dataset.onlyKind.split(' ').indexOf(state.kind) < 0;
    });
  }

  function announce(text) {
    announcer.textContent = '';
    setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function show(id) {
    var section = null;
    screens.forEach(function (s) {
      var on = s.dataset.screen === id;
      s.hidden = !on;
      if (on) section = s;
    });
    if (id === 'discard' && state.screen !== 'discard') state.discardFrom = state.screen;
    state.screen = id;
    body.dataset.screen = id;
    applyKind();
    var steps = flowSteps();
    var stepName = id in STEP_OF ? (STEP_OF[id] || state.discardFrom) : id;
    var n = steps.indexOf(stepName);
    all('[data-step]', section).forEach(function (el) {
      el.textContent = n >= 0 ? fill(T.step, { n: n + 1, total: steps.length }) : '';
    });
    stopSpeaking();
    var heading = section.querySelector('h1');
    var title = heading.innerText.replace(/\s+/g, ' ').trim();
    document.title = title === T.app_name ? title : title + ' · ' + T.app_name;
    heading.focus();
    announce(title);
    resetIdle();
  }

  // --- reading aloud -------------------------------------------------------------------
  var player = new Audio();
  var playing = null;  // the button whose words are playing
  var sequence = null;

  function speakLabel(button, on) {
    if (!button) return;
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    var label = button.querySelector('.speak-label');
    if (label) label.textContent = on ? T.stop_reading : T.read_aloud;
  }
  function stopSpeaking() {
    sequence = null;
    player.pause();
    if ('speechSynthesis' in window) window.speechSynthesis.cancel();
    speakLabel(playing, false);
    playing = null;
  }
  function speakWithBrowser(text, rate) {
    if (!('speechSynthesis' in window) || !window.SpeechSynthesisUtterance) return false;
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = LANG;
    utterance.rate = rate || 0.9;
    utterance.onend = function () { speakLabel(playing, false); playing = null; };
    window.speechSynthesis.speak(utterance);
    return true;
  }
  function screenWords(button) {
    var container = button.closest('section, dialog');
    var heading = container.querySelector('h1, h2');
    var lead = container.querySelector('.lead:not([hidden])');
    return [heading, lead].filter(Boolean).map(function (el) { return el.innerText.trim(); }).join('. ');
  }
  function say(button) {
    if (playing === button) { stopSpeaking(); return; }
    stopSpeaking();
    playing = button;
    speakLabel(button, true);
    player.src = DATA.urls.voice + encodeURIComponent(button.dataset.say) + '.mp3';
    player.play().catch(function () {
      // No recorded prompt (or it cannot play): let the browser's own voice read the screen.
      if (playing === button && !speakWithBrowser(screenWords(button))) stopSpeaking();
    });
  }
  player.addEventListener('ended', function () {
    if (sequence && sequence.length) { playNext(); return; }
    speakLabel(playing, false);
    playing = null;
  });
  player.addEventListener('error', function () {
    if (sequence) {  // a word's recording failed: read the whole code with the browser's voice
      var words = sequence.words;
      sequence = null;
      if (!speakWithBrowser(words.join(', '), 0.75)) stopSpeaking();
    }
  });
  function playNext() {
    var word = sequence.shift();
    setTimeout(function () {
      if (!sequence && word !== undefined) return;
      player.src = DATA.urls.words + encodeURIComponent(word) + '.mp3';
      player.play().catch(function () {});
    }, 350);
  }
  function localVoice() {
    if (!('speechSynthesis' in window)) return null;
    var prefix = LANG.split('-')[0].toLowerCase();
    return window.speechSynthesis.getVoices().filter(function (v) {
      return v.localService && v.lang && v.lang.toLowerCase().indexOf(prefix) === 0;
    })[0] || null;
  }
  function sayCode(button) {
    var code = $('receipt-code').textContent.trim();
    if (!code) return;
    stopSpeaking();
    playing = button;
    var words = code.split('-');
    // The browser's own voice when it has one for this language; otherwise the kiosk's
    // recorded words, one after another.
    if (localVoice() && speakWithBrowser(words.join(', '), 0.75)) return;
    sequence = words.slice(1);
    sequence.words = words;
    player.src = DATA.urls.words + encodeURIComponent(words[0]) + '.mp3';
    player.play().catch(function () {
      sequence = null;
      if (!speakWithBrowser(words.join(', '), 0.75)) stopSpeaking();
    });
  }

  // --- IndexedDB: kept entries wait here until the server has them ------------------
  var dbPromise = null;
  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error('no IndexedDB')); return; }
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        if (!request.result.objectStoreNames.contains(STORE)) {
          request.result.createObjectStore(STORE, { keyPath: 'id' });
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    dbPromise.catch(function () { dbPromise = null; });
    return dbPromise;
  }
  function idb(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        var request = work(tx.objectStore(STORE));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function idbPut(record) { return idb('readwrite', function (s) { return s.put(record); }); }
  function idbDelete(id) { return idb('readwrite', function (s) { return s.delete(id); }); }
  function idbAll() { return idb('readonly', function (s) { return s.getAll(); }); }

  async function sha256Hex(blob) {
    if (!(window.crypto && crypto.subtle)) return null;
    var digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return Array.prototype.map.call(new Uint8Array(digest), function (b) {
      return (b < 16 ? '0' : '') + b.toString(16);
    }).join('');
  }

  // The CSRF token belongs to the browser's session; if the server no longer accepts it
  // (the session cookie was lost, say), fetch this page again for a fresh one.
  async function refreshToken() {
    try {
      var response = await fetch(window.location.pathname, { credentials: 'same-origin', cache: 'no-store' });
      var html = await response.text();
      var meta = new DOMParser().parseFromString(html, 'text/html').querySelector('meta[name="csrf-token"]');
      if (meta && meta.content) {
        CSRF = meta.content;
        document.querySelector('meta[name="csrf-token"]').content = CSRF;
      }
    } catch (e) { /* offline: the next try will ask again */ }
  }

  // --- saving: upload (tus), then make the entry; in the background if need be -------
  var saving = {};  // record id -> true while a save is running

  function uploadIdFrom(url) { return url.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop(); }

  async function readError(response) {
    try {
      var data = await response.json();
      if (data && data.error) return { code: data.error.code || '', message: data.error.message || '' };
    } catch (e) { /* not JSON */ }
    return { code: '', message: '' };
  }

  function upload(record, view) {
    return new Promise(function (resolve) {
      var attempt = null;
      function begin() {
        attempt = new window.tus.Upload(record.blob, {
          endpoint: absolute(DATA.urls.uploads),
          uploadUrl: record.uploadUrl || null,
          chunkSize: chunkSize(),
          retryDelays: RETRY_DELAYS,
          removeFingerprintOnSuccess: true,
          headers: { 'X-CSRFToken': CSRF },
          metadata: { filename: record.filename, filetype: record.type, kind: record.kind },
          onUploadUrlAvailable: function () {
            if (record.uploadUrl !== attempt.url) {
              record.uploadUrl = attempt.url;
              idbPut(record).catch(function () {});
            }
          },
          onProgress: function (sent, total) { view.progress(total ? sent / total : 0); },
          onShouldRetry: function (error, retryAttempt, options) {
            // Say at once that the connection dropped (it may take minutes to come back),
            // then let tus decide whether this error is worth retrying, as it would.
            view.problem(T.saving_retry);
            var status = error && error.originalResponse ? error.originalResponse.getStatus() : 0;
            return !status || status < 400 || status >= 500 || status === 409 || status === 423;
          },
          onError: function (error) {
            // Only after every retry above has failed (or the server refused outright):
            // keep it on the kiosk, say so, and start again in a little while.
            var status = error && error.originalResponse ? error.originalResponse.getStatus() : 0;
            // 429/413 on starting: this kiosk's unfinished uploads fill what it may hold.
            var full = (status === 429 || status === 413) && error.originalRequest
              && error.originalRequest.getMethod() === 'POST';
            view.problem(full ? T.saving_full : status ? T.saving_problem : T.saving_retry);
            if (status === 400) refreshToken();  // perhaps a stale CSRF token
            setTimeout(begin, status === 400 ? 5000 : full ? 60000 : 30000);
          },
          onSuccess: function () {
            record.uploadId = uploadIdFrom(attempt.url);
            record.uploadUrl = attempt.url;
            idbPut(record).catch(function () {}).then(resolve);
          }
        });
        attempt.start();
      }
      begin();
    });
  }

  function entryBody(record) {
    var data = { kind: record.kind, consent: record.consent, prompt_id: record.promptId };
    if (record.kind === 'text') data.text = record.text;
    else {
      data.upload_id = record.uploadId;
      // The server checks the bytes it holds against this before it says "saved".
      if (record.sha256) data.sha256 = record.sha256;
    }
    return data;
  }

  async function createEntry(record, view) {
    for (var attempt = 0; ; attempt++) {
      var response;
      try {
        response = await fetch(DATA.urls.entries, {
          method: 'POST', credentials: 'same-origin',
          // record.id names this entry for good: a retry whose first answer was lost
          // gets the same entry back, not a second one.
          headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': CSRF,
                     'Idempotency-Key': record.id },
          body: JSON.stringify(entryBody(record))
        });
      } catch (e) {
        view.problem(T.saving_retry);
        await sleep(Math.min(60000, 2000 * (attempt + 1)));
        continue;
      }
      if (response.status === 201 || response.status === 200) return { data: await response.json() };
      var error = await readError(response);
      if (error.code === 'csrf_failed' && attempt < 3) {
        await refreshToken();
        continue;
      }
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        view.problem(error.message || T.saving_problem);
        await sleep(Math.min(60000, 3000 * (attempt + 1)));
        continue;
      }
      if (record.kind !== 'text' && !record.sentAgain && ([404, 410].indexOf(response.status) >= 0
          || error.code === 'upload_not_found' || error.code === 'upload_incomplete'
          || error.code === 'checksum_mismatch')) {
        // The finished upload is gone (expired, or the server lost it): send it again.
        return { again: true };
      }
      if (record.kind !== 'text' && error.code === 'upload_already_used') {
        // An earlier try made the entry but its answer was lost: it is saved, though its
        // receipt code cannot be shown.
        return { data: { receipt_code: null } };
      }
      return { error: error.message || T.saving_problem };
    }
  }

  async function save(record, view) {
    if (saving[record.id]) return;
    saving[record.id] = true;
    try {
      for (;;) {
        if (record.kind !== 'text' && !record.uploadId) await upload(record, view);
        view.progress(1);
        var outcome = await createEntry(record, view);
        if (outcome.again) {
          record.uploadId = null; record.uploadUrl = null; record.sentAgain = true;
          await idbPut(record).catch(function () {});
          continue;
        }
        if (outcome.error) { view.failed(outcome.error); return; }
        await idbDelete(record.id).catch(function () {});
        view.done(outcome.data, record);
        return;
      }
    } finally {
      delete saving[record.id];
    }
  }

  // What the saving screen shows, for as long as this person is still here.
  function viewFor(record, showCode) {
    var mine = generation;
    function here() { return mine === generation; }
    return {
      progress: function (fraction) {
        if (!here()) return;
        record.touchedAt = Date.now();
        var percent = Math.floor(fraction * 100);
        $('saving-progress').value = percent;
        $('saving-status').textContent = fill(T.saving_percent, { percent: percent });
        $('saving-error').hidden = true;
      },
      problem: function (message) {
        if (!here()) return;
        $('saving-status').textContent = message;
      },
      failed: function (message) {
        if (!here()) return;
        $('saving-error-text').textContent = message;
        $('saving-error').hidden = false;
        state.failedRecord = record;
      },
      done: function (data, rec) {
        if (rec.sha256) body.dataset.lastSha256 = rec.sha256;
        if (!here()) return;
        showCode = showCode && !!data.receipt_code;
        $('receipt-code').textContent = showCode ? data.receipt_code : '';
        body.dataset.receiptShown = showCode ? 'true' : 'false';
        all('[data-receipt-shown]').forEach(function (el) { el.hidden = !showCode; });
        $('receipt-hidden').hidden = showCode;
        $('receipt-hidden').textContent = showCode ? '' : (data.receipt_code ? T.saved_earlier : T.saved_no_code);
        show('receipt');
      }
    };
  }

  function startSaving(record, resumed, showCode) {
    $('saving-progress').value = 0;
    $('saving-progress-wrap').hidden = record.kind === 'text';
    $('saving-status').textContent = '';
    $('saving-error').hidden = true;
    $('saving-resumed').hidden = !resumed;
    $('saving-resumed').textContent = resumed ? T.still_saving : '';
    show('saving');
    save(record, viewFor(record, showCode));
  }

  async function keep() {
    var blob = state.blob;
    if (!blob) return;
    var type = blob.type || state.mime || (state.kind === 'video' ? 'video/webm' : 'audio/webm');
    var record = {
      id: newId(), state: KEPT, kind: state.kind, consent: state.consent, promptId: state.cardId,
      blob: blob, type: type, filename: 'recording.' + (type.indexOf('mp4') >= 0 ? 'mp4' : 'webm'),
      sha256: null, uploadUrl: null, uploadId: null, created: Date.now(), touchedAt: Date.now()
    };
    try { record.sha256 = await sha256Hex(blob); } catch (e) { record.sha256 = null; }
    // Kept on this kiosk before a single byte is sent.
    try { await idbPut(record); } catch (e) { /* no storage: still send it from memory */ }
    forgetRecording();
    startSaving(record, false, true);
  }

  async function sendText() {
    var record = {
      id: newId(), state: KEPT, kind: 'text', text: $('write-text').value,
      consent: state.consent, promptId: state.cardId, created: Date.now(), touchedAt: Date.now()
    };
    try { await idbPut(record); } catch (e) { /* still send it */ }
    $('write-text').value = '';
    updateCount();
    startSaving(record, false, true);
  }

  // After a reload: anything kept but not yet confirmed by the server is sent now.
  async function resumeKept() {
    var records;
    try { records = await idbAll(); } catch (e) { return; }
    var kept = records.filter(function (r) { return r.state === KEPT; });
    records.filter(function (r) { return r.state !== KEPT; }).forEach(function (r) {
      idbDelete(r.id).catch(function () {});
    });
    if (!kept.length) return;
    kept.sort(function (a, b) { return (b.touchedAt || 0) - (a.touchedAt || 0); });
    var latest = kept[0];
    kept.slice(1).forEach(function (r) { save(r, viewFor(r, false)); });
    // The code is only shown if the person who made it is very likely still here.
    var recent = Date.now() - (latest.touchedAt || latest.created || 0) < idleSeconds() * 1000;
    if (state.screen === 'welcome') startSaving(latest, true, recent);
    else save(latest, viewFor(latest, false));
  }

  // --- recording ---------------------------------------------------------------------
  var recordButtons = {
    record: document.querySelector('[data-action="record"]'),
    pause: document.querySelector('[data-action="pause"]'),
    resume: document.querySelector('[data-action="resume"]'),
    stop: document.querySelector('[data-action="stop"]')
  };

  function setRecordUi(mode, message) {
    state.recording = mode;
    var b = recordButtons;
    b.record.hidden = !(mode === 'preparing' || mode === 'ready' || mode === 'error');
    b.record.disabled = mode !== 'ready';
    b.pause.hidden = mode !== 'recording';
    b.resume.hidden = mode !== 'paused';
    b.stop.hidden = !(mode === 'recording' || mode === 'paused');
    $('media-error').hidden = mode !== 'error';
    if (mode === 'error') { $('media-error-text').textContent = message; b.record.hidden = true; }
    all('[data-hide-while-recording]').forEach(function (el) {
      el.hidden = mode === 'recording' || mode === 'paused';
    });
    // Nothing is read aloud into the microphone while it records.
    var speak = $('screen-record').querySelector('.speak');
    speak.hidden = mode === 'recording';
    if (mode === 'recording') stopSpeaking();
    var status = {
      preparing: state.kind === 'video' ? T.preparing_video : T.preparing_audio,
      ready: T.ready, recording: T.recording, paused: T.paused, error: ''
    }[mode];
    $('record-status').textContent = status || '';
    $('record-status').dataset.mode = mode;
    if (mode !== 'preparing' && status) announce(status);
  }

  function stopStream() {
    if (state.meterFrame) cancelAnimationFrame(state.meterFrame);
    state.meterFrame = 0;
    if (state.stream) state.stream.getTracks().forEach(function (t) { t.stop(); });
    state.stream = null;
    if (state.audioCtx) state.audioCtx.close().catch(function () {});
    state.audioCtx = null;
    var preview = $('preview');
    preview.pause();
    preview.srcObject = null;
    preview.hidden = true;
    setLevel(0, true);
  }

  function setLevel(level, force) {
    var meter = $('level');
    meter.firstElementChild.style.transform = 'scaleX(' + (level / 100) + ')';
    var now = performance.now();
    if (force || now - state.meterLast > 200) {  // screen readers need no more than this
      state.meterLast = now;
      meter.setAttribute('aria-valuenow', String(Math.round(level)));
      meter.dataset.level = String(Math.round(level));
    }
  }

  function startMeter(stream) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    var ctx = new Ctx();
    state.audioCtx = ctx;
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    var samples = new Float32Array(analyser.fftSize);
    var shown = 0;
    function frame() {
      if (state.audioCtx !== ctx) return;
      analyser.getFloatTimeDomainData(samples);
      var sum = 0;
      for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
      var rms = Math.sqrt(sum / samples.length);
      var db = rms > 0 ? 20 * Math.log10(rms) : -100;
      var level = Math.max(0, Math.min(100, (db + 60) * (100 / 50)));  // -60 dB .. -10 dB
      shown = level > shown ? level : shown * 0.9 + level * 0.1;
      setLevel(shown);
      state.meterFrame = requestAnimationFrame(frame);
    }
    if (ctx.state === 'suspended') ctx.resume().catch(function () {});
    state.meterFrame = requestAnimationFrame(frame);
  }

  var prepareTicket = 0;
  async function prepareMedia() {
    var mine = generation;
    var ticket = ++prepareTicket;  // only the latest request may keep its stream
    stopStream();
    $('elapsed').textContent = clock(0);
    $('max-clock').textContent = clock(maxSeconds());
    $('time-warning').hidden = true;
    setRecordUi('preparing');
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder)) {
      setRecordUi('error', T.no_recorder);
      return;
    }
    var audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    // Ask only for what this kind needs: sound alone never asks for the camera.
    var wanted = state.kind === 'video'
      ? { audio: audio, video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' } }
      : { audio: audio };
    var stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(wanted);
    } catch (e) {
      if (mine === generation && ticket === prepareTicket && state.screen === 'record') {
        setRecordUi('error', state.kind === 'video' ? T.camera_error : T.mic_error);
      }
      return;
    }
    if (mine !== generation || ticket !== prepareTicket || state.screen !== 'record') {
      stream.getTracks().forEach(function (t) { t.stop(); });
      return;
    }
    state.stream = stream;
    if (state.kind === 'video') {
      var preview = $('preview');
      preview.srcObject = stream;
      preview.hidden = false;
      preview.play().catch(function () {});
    }
    startMeter(stream);
    setRecordUi('ready');
  }

  function pickMime() {
    var options = state.kind === 'video'
      ? ['video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4']
      : ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4'];
    for (var i = 0; i < options.length; i++) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(options[i])) return options[i];
    }
    return '';
  }

  // Warn a minute before the end (or half-way, for a maximum of under two minutes).
  function warnBefore(max) { return Math.min(60, Math.floor(max / 2)); }

  function elapsed() {
    var running = state.recording === 'recording' ? (performance.now() - state.segmentStart) / 1000 : 0;
    return state.elapsedBefore + running;
  }

  function onTick() {
    var seconds = elapsed();
    var max = maxSeconds();
    $('elapsed').textContent = clock(seconds);
    if (state.recording === 'recording') resetIdle();  // talking is not being idle
    var lead = warnBefore(max);
    if (!state.warned && seconds >= max - lead) {
      state.warned = true;
      var words = fill(lead === 60 ? T.one_minute : T.seconds_left, { n: lead, max: clock(max) });
      $('time-warning').textContent = words;
      $('time-warning').hidden = false;
      announce(words);
    }
    if (seconds >= max) { state.autoStopped = true; stopRecording(); }
  }

  function startRecording() {
    if (!state.stream || state.recording !== 'ready') return;
    if (state.audioCtx && state.audioCtx.state === 'suspended') state.audioCtx.resume().catch(function () {});
    state.mime = pickMime();
    var options = state.mime ? { mimeType: state.mime } : {};
    if (state.kind === 'video') options.videoBitsPerSecond = 1000000;
    options.audioBitsPerSecond = 64000;
    var recorder;
    try {
      recorder = new MediaRecorder(state.stream, options);
    } catch (e) {
      setRecordUi('error', T.no_recorder);
      return;
    }
    state.recorder = recorder;
    state.chunks = [];
    state.discardOnStop = false;
    state.autoStopped = false;
    state.warned = false;
    recorder.ondataavailable = function (event) {
      if (event.data && event.data.size) state.chunks.push(event.data);
    };
    recorder.onstop = onRecorderStop;
    recorder.start(1000);
    state.elapsedBefore = 0;
    state.segmentStart = performance.now();
    state.tick = setInterval(onTick, 250);
    setRecordUi('recording');
  }

  function pauseRecording() {
    if (!state.recorder || state.recording !== 'recording') return;
    state.recorder.pause();
    state.elapsedBefore = elapsed();
    setRecordUi('paused');
  }

  function resumeRecording() {
    if (!state.recorder || state.recording !== 'paused') return;
    state.recorder.resume();
    state.segmentStart = performance.now();
    setRecordUi('recording');
  }

  function stopRecording() {
    if (!state.recorder || (state.recording !== 'recording' && state.recording !== 'paused')) return;
    state.elapsedBefore = elapsed();
    clearInterval(state.tick);
    state.tick = 0;
    state.recording = 'stopping';
    state.recorder.stop();
  }

  function onRecorderStop() {
    var recorder = state.recorder;
    state.recorder = null;
    if (!recorder || state.discardOnStop) { state.chunks = []; return; }
    var type = recorder.mimeType || state.mime || (state.kind === 'video' ? 'video/webm' : 'audio/webm');
    state.blob = new Blob(state.chunks, { type: type });
    state.chunks = [];
    state.duration = state.elapsedBefore;
    stopStream();
    showReview();
  }

  function stopEverything() {
    // Leave the record screen, or reset: nothing recorded so far is kept.
    prepareTicket++;  // a microphone still being asked for is let go when it arrives
    if (state.recorder) {
      state.discardOnStop = true;
      try { if (state.recorder.state !== 'inactive') state.recorder.stop(); } catch (e) { /* gone */ }
      state.recorder = null;
    }
    clearInterval(state.tick);
    state.tick = 0;
    state.chunks = [];
    stopStream();
    state.recording = 'idle';
  }

  // MediaRecorder's WebM has no length in its header, so players show "Infinity" until
  // they have read to the end. Seek far ahead once to learn the real length.
  function learnDuration(media) {
    function check() {
      if (isFinite(media.duration) && media.duration > 0) {
        media.removeEventListener('durationchange', check);
        media.removeEventListener('timeupdate', check);
        if (media.currentTime !== 0) media.currentTime = 0;
        media.dataset.duration = String(media.duration);
      }
    }
    media.addEventListener('loadedmetadata', function once() {
      media.removeEventListener('loadedmetadata', once);
      if (isFinite(media.duration) && media.duration > 0) { check(); return; }
      media.addEventListener('durationchange', check);
      media.addEventListener('timeupdate', check);
      media.currentTime = 1e101;
    });
  }

  function forgetPlayback() {
    ['playback-audio', 'playback-video'].forEach(function (id) {
      var media = $(id);
      media.pause();
      media.removeAttribute('src');
      delete media.dataset.duration;
      media.hidden = true;
      try { media.load(); } catch (e) { /* nothing loaded */ }
    });
    if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
    state.blobUrl = null;
  }

  function forgetRecording() {
    forgetPlayback();
    state.blob = null;
    state.duration = 0;
  }

  function showReview() {
    forgetPlayback();
    state.blobUrl = URL.createObjectURL(state.blob);
    var media = $(state.kind === 'video' ? 'playback-video' : 'playback-audio');
    learnDuration(media);
    media.src = state.blobUrl;
    media.hidden = false;
    $('review-length').textContent = fill(T.length, { time: clock(state.duration) });
    $('auto-stopped').hidden = !state.autoStopped;
    $('auto-stopped').textContent = state.autoStopped ? T.auto_stopped : '';
    show('review');
  }

  function goRecord() {
    show('record');
    prepareMedia();
  }

  // --- consent -------------------------------------------------------------------------
  function consentForm(prefix) {
    return {
      audience: function () {
        var checked = document.querySelector('input[name="' + prefix + '-audience"]:checked');
        return checked ? checked.value : 'team';
      },
      voice: $(prefix + '-voice'),
      panel: $(prefix + '-panel'),
      teamNote: $(prefix + '-voice-team')
    };
  }

  // The voice stays disguised (shown as on, and explained) for the team; beyond the team
  // it is on unless the person turns it off.
  function syncVoice(prefix) {
    var form = consentForm(prefix);
    var team = form.audience() === 'team';
    if (team) {
      if (!form.voice.disabled) form.voice.dataset.wanted = form.voice.checked ? 'on' : 'off';
      form.voice.checked = true;
      form.voice.disabled = true;
    } else if (form.voice.disabled) {
      form.voice.disabled = false;
      form.voice.checked = form.voice.dataset.wanted !== 'off';
    }
    form.teamNote.hidden = !team;
  }

  function readConsent(prefix, kind) {
    var form = consentForm(prefix);
    var audience = form.audience();
    var voice = (kind === 'text' || audience === 'team' || form.voice.checked) ? 'disguise' : 'natural';
    return { audience: audience, voice: voice, panel_quotes: !!form.panel.checked };
  }

  function setConsent(prefix, consent) {
    var radios = all('input[name="' + prefix + '-audience"]');
    radios.forEach(function (r) { r.checked = r.value === (consent.audience || 'team'); });
    var form = consentForm(prefix);
    form.voice.disabled = false;
    form.voice.checked = consent.voice !== 'natural';
    form.voice.dataset.wanted = form.voice.checked ? 'on' : 'off';
    form.panel.checked = !!consent.panel_quotes;
    syncVoice(prefix);
  }

  function resetConsent(prefix) {
    setConsent(prefix, { audience: 'team', voice: 'disguise', panel_quotes: false });
  }

  // --- writing -------------------------------------------------------------------------
  function updateCount() {
    var used = $('write-text').value.length;
    var max = DATA.maxTextChars;
    var format = function (n) { return n.toLocaleString(LANG); };
    $('write-count').textContent = fill(T.write_count, { used: format(used), max: format(max) })
      + (used >= max ? ' ' + T.write_full : '');
  }

  // --- changing your mind ---------------------------------------------------------------
  function normaliseCode(typed) {
    var parts = typed.toLowerCase().replace(/([a-z])([0-9])/g, '$1 $2').split(/[^a-z0-9]+/).filter(Boolean);
    if (parts.length !== 4 || !/^[0-9]+$/.test(parts[3])) return null;
    for (var i = 0; i < 3; i++) if (!/^[a-z]+$/.test(parts[i])) return null;
    return parts.join('-');
  }

  async function postJson(url, data, retried) {
    var response;
    try {
      response = await fetch(url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': CSRF },
        body: JSON.stringify(data)
      });
    } catch (e) {
      return { ok: false, status: 0, message: T.network };
    }
    if (response.ok) {
      var json = {};
      try { json = await response.json(); } catch (e) { /* empty */ }
      return { ok: true, status: response.status, data: json };
    }
    var error = await readError(response);
    if (error.code === 'csrf_failed' && !retried) {
      await refreshToken();
      return postJson(url, data, true);
    }
    var message = error.message;
    if (!message) {
      message = response.status === 404 ? T.not_found : response.status === 429 ? T.too_many : T.network;
    }
    return { ok: false, status: response.status, message: message };
  }

  function showError(id, message) {
    var el = $(id);
    el.textContent = message || '';
    el.hidden = !message;
  }

  function describeConsent(consent, kind) {
    $('found-audience').textContent = T['audience_' + consent.audience] || consent.audience;
    // A written entry has no voice to disguise: say nothing about it.
    $('found-voice-label').hidden = $('found-voice').hidden = kind === 'text';
    $('found-voice').textContent = consent.voice === 'natural' ? T.voice_natural : T.voice_disguise;
    $('found-panel').textContent = consent.panel_quotes ? T.panel_yes : T.panel_no;
  }

  function formatDate(value) {
    var date = new Date(value + (/^\d{4}-\d{2}-\d{2}$/.test(value) ? 'T12:00:00' : ''));
    if (isNaN(date.getTime())) return value;
    return date.toLocaleDateString(LANG, { day: 'numeric', month: 'long', year: 'numeric' });
  }

  function showFound(data) {
    state.found = data;
    $('found-received').textContent = data.received ? formatDate(data.received) : '';
    describeConsent(data.consent || {}, data.kind);
    var withdrawn = data.status === 'withdrawn';
    $('found-withdrawn').hidden = !withdrawn;
    $('found-withdrawn').textContent = withdrawn ? T.already_withdrawn : '';
    $('found-actions').hidden = withdrawn;
    setConsent('m', data.consent || {});
    showError('change-error', '');
    show('change-found');
  }

  function showDone(title, text) {
    $('done-title').textContent = title;
    $('done-text').textContent = text;
    show('change-done');
  }

  // --- going back to the start, and wiping what was not kept ---------------------------
  function wipeStorage() {
    try { window.sessionStorage.clear(); } catch (e) { /* not available */ }
    var keep = [];
    return idbAll().catch(function () { return []; }).then(function (records) {
      records.forEach(function (r) {
        if (r.state === KEPT) { if (r.uploadUrl) keep.push(r.uploadUrl); }
        else idbDelete(r.id).catch(function () {});
      });
    }).then(function () {
      try {
        var stale = [];
        for (var i = 0; i < localStorage.length; i++) {
          var key = localStorage.key(i);
          if (key && key.indexOf('tus::') === 0) {
            var value = localStorage.getItem(key) || '';
            var stillNeeded = keep.some(function (url) { return value.indexOf(url) >= 0; });
            if (!stillNeeded) stale.push(key);
          }
        }
        stale.forEach(function (key) { localStorage.removeItem(key); });
      } catch (e) { /* not available */ }
    });
  }

  function reset() {
    generation++;
    stopEverything();
    forgetRecording();
    stopSpeaking();
    freshState();
    resetConsent('c');
    resetConsent('m');
    $('write-text').value = '';
    updateCount();
    $('receipt-input').value = '';
    $('receipt-code').textContent = '';
    ['lookup-error', 'write-error', 'change-error', 'withdraw-error'].forEach(function (id) { showError(id, ''); });
    $('saving-error').hidden = true;
    $('saving-status').textContent = '';
    $('saving-progress').value = 0;
    $('found-received').textContent = '';
    $('found-audience').textContent = '';
    $('found-voice').textContent = '';
    $('found-panel').textContent = '';
    $('done-title').textContent = '';
    $('done-text').textContent = '';
    all('[data-question]').forEach(function (el) { el.textContent = ''; el.hidden = true; });
    return wipeStorage();
  }

  function goHome() {
    closeIdle();
    var wiped = reset();
    show('welcome');
    return wiped;
  }

  // --- idle ----------------------------------------------------------------------------
  var idle = { timer: 0, countdown: 0, left: 0 };
  var dialog = $('idle-dialog');

  // 20 seconds' warning, or a quarter of the idle time if that is shorter.
  function warnSeconds() {
    var set = parseInt(body.dataset.idleWarningSeconds, 10);
    return set > 0 ? set : Math.max(1, Math.min(20, Math.round(idleSeconds() / 4)));
  }

  function busy() {
    if (state.recording === 'recording') return true;
    if (!player.paused && !player.ended) return true;  // reading aloud
    return all('.playback').some(function (m) { return !m.paused && !m.ended; });
  }

  function resetIdle() {
    clearTimeout(idle.timer);
    if (dialog.open) return;
    if (state.screen === 'welcome') return;
    idle.timer = setTimeout(function () {
      if (busy()) { resetIdle(); return; }
      openIdle();
    }, idleSeconds() * 1000);
  }

  function openIdle() {
    idle.left = warnSeconds();
    $('idle-count').textContent = fill(T.idle_count, { n: idle.left });
    body.dataset.idle = 'warning';
    if (typeof dialog.showModal === 'function') dialog.showModal(); else dialog.setAttribute('open', '');
    dialog.querySelector('[data-action="still-here"]').focus();
    idle.countdown = setInterval(function () {
      idle.left -= 1;
      if (idle.left <= 0) { goHome(); return; }
      $('idle-count').textContent = fill(T.idle_count, { n: idle.left });
    }, 1000);
  }

  function closeIdle() {
    clearInterval(idle.countdown);
    idle.countdown = 0;
    delete body.dataset.idle;
    if (dialog.open) {
      if (typeof dialog.close === 'function') dialog.close(); else dialog.removeAttribute('open');
    }
  }

  function stillHere() {
    closeIdle();
    stopSpeaking();
    resetIdle();
    var heading = document.querySelector('section.screen:not([hidden]) h1');
    if (heading) heading.focus();
  }

  dialog.addEventListener('cancel', function (event) { event.preventDefault(); stillHere(); });
  ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart'].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (!dialog.open) { resetIdle(); return; }
      // Any touch or key while the warning shows means someone is here (except asking
      // for the warning to be read aloud).
      if (type === 'keydown' && !insideSpeaker(event)) stillHere();
    }, { passive: true, capture: true });
  });
  // A click anywhere on the warning (it covers the page) also means someone is here.
  document.addEventListener('click', function (event) {
    if (dialog.open && !insideSpeaker(event)) stillHere();
  }, true);
  function insideSpeaker(event) { return !!(event.target.closest && event.target.closest('[data-say]')); }
  all('.playback').forEach(function (m) { m.addEventListener('timeupdate', function () { if (!dialog.open) resetIdle(); }); });

  // --- what each button does -----------------------------------------------------------
  function afterCards() {
    if (state.kind === 'text') show('write'); else show('consent');
  }
  function startFlow(kind) {
    stopEverything();
    forgetRecording();
    state.kind = kind;
    state.cardId = null;
    state.cardText = '';
    resetConsent('c');
    all('[data-question]').forEach(function (el) { el.hidden = true; el.textContent = ''; });
    if (all('[data-action="card"]').length > 1) show('cards'); else afterCards();
  }
  function back() {
    var hasCards = all('[data-action="card"]').length > 1;
    var before = hasCards ? 'cards' : 'welcome';
    switch (state.screen) {
      case 'cards': goHome(); return;
      case 'write': if (before === 'welcome') goHome(); else show(before); return;
      case 'consent': if (state.kind === 'text') show('write'); else if (before === 'welcome') goHome(); else show(before); return;
      case 'record': stopEverything(); show('consent'); return;
      default: goHome();
    }
  }

  var actions = {
    start: function (button) { startFlow(button.dataset.kind); },
    change: function () { reset(); show('change'); },
    card: function (button) {
      state.cardId = button.dataset.cardId ? parseInt(button.dataset.cardId, 10) : null;
      state.cardText = state.cardId ? button.textContent.trim() : '';
      all('[data-question]').forEach(function (el) {
        el.textContent = state.cardText ? T.your_question + ' ' + state.cardText : '';
        el.hidden = !state.cardText;
      });
      afterCards();
    },
    back: back,
    home: function () { goHome(); },
    finish: function () { goHome(); },
    record: startRecording,
    pause: pauseRecording,
    resume: resumeRecording,
    stop: stopRecording,
    'retry-media': function () { prepareMedia(); },
    keep: function (button) { button.disabled = true; keep().finally(function () { button.disabled = false; }); },
    again: function () { forgetRecording(); goRecord(); },
    discard: function () { show('discard'); },
    'discard-no': function () { show(state.discardFrom || 'welcome'); },
    'discard-yes': function () { goHome(); },
    'retry-save': function () {
      var record = state.failedRecord;
      if (record) { state.failedRecord = null; startSaving(record, false, true); }
    },
    'say-code': function (button) { sayCode(button); },
    print: function () { window.print(); },
    withdraw: function () { showError('withdraw-error', ''); show('withdraw'); },
    'withdraw-no': function () { show('change-found'); },
    'withdraw-yes': async function (button) {
      button.disabled = true;
      var result = await postJson(DATA.urls.withdraw, { code: state.code });
      button.disabled = false;
      if (!result.ok) { showError('withdraw-error', result.message); return; }
      showDone(T.withdrawn_title, T.withdrawn_text);
    },
    'still-here': stillHere
  };

  document.addEventListener('click', function (event) {
    var speak = event.target.closest('[data-say]');
    if (speak) { say(speak); return; }
    var button = event.target.closest('[data-action]');
    if (!button || button.disabled) return;
    var action = actions[button.dataset.action];
    if (action) action(button);
  });

  $('consent-form').addEventListener('submit', function (event) {
    event.preventDefault();
    state.consent = readConsent('c', state.kind);
    if (state.kind === 'text') sendText(); else goRecord();
  });
  $('consent-form').addEventListener('change', function () { syncVoice('c'); });
  $('change-form').addEventListener('change', function () { syncVoice('m'); });
  [['c-voice', 'c'], ['m-voice', 'm']].forEach(function (pair) {
    $(pair[0]).addEventListener('change', function () {
      $(pair[0]).dataset.wanted = $(pair[0]).checked ? 'on' : 'off';
    });
  });

  $('write-text').addEventListener('input', function () {
    updateCount();
    if ($('write-text').value.trim()) showError('write-error', '');
  });
  $('write-form').addEventListener('submit', function (event) {
    event.preventDefault();
    if (!$('write-text').value.trim()) {
      showError('write-error', T.write_empty);
      $('write-text').focus();
      return;
    }
    show('consent');
  });

  $('lookup-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    var typed = $('receipt-input').value;
    if (!typed.trim()) { showError('lookup-error', T.lookup_empty); $('receipt-input').focus(); return; }
    var code = normaliseCode(typed);
    if (!code) { showError('lookup-error', T.lookup_format); $('receipt-input').focus(); return; }
    showError('lookup-error', '');
    var submit = event.target.querySelector('button[type="submit"]');
    submit.disabled = true;
    var result = await postJson(DATA.urls.lookup, { code: code });
    submit.disabled = false;
    if (!result.ok) {
      showError('lookup-error', result.status === 429 && !result.message ? T.too_many : result.message);
      $('receipt-input').focus();
      return;
    }
    state.code = code;
    showFound(result.data);
  });

  $('change-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    var submit = event.target.querySelector('button[type="submit"]');
    submit.disabled = true;
    var result = await postJson(DATA.urls.consent, { code: state.code, consent: readConsent('m', null) });
    submit.disabled = false;
    if (!result.ok) { showError('change-error', result.message); return; }
    state.found = result.data;
    showDone(T.changed_title, T.changed_text);
  });

  // --- start -----------------------------------------------------------------------------
  updateCount();
  resetConsent('c');
  resetConsent('m');
  body.dataset.screen = 'welcome';
  body.dataset.ready = 'true';
  wipeStorage().then(resumeKept);
  window.addEventListener('online', function () {
    // Coming back online: anything waiting is tried again straight away.
    idbAll().then(function (records) {
      records.filter(function (r) { return r.state === KEPT && !saving[r.id]; }).forEach(function (r) {
        save(r, viewFor(r, false));
      });
    }).catch(function () {});
  });
})();
