/* The review page, enhanced. Without this file every action still works as a form.
 *
 * - Select a word to hide it (as the type in "Redact as"); select a hidden word to show
 *   it again. Drag across words, or select one and Shift-select another (Shift+Enter or
 *   Shift+Space from the keyboard), to hide the run of words as one redaction. Escape
 *   forgets a half-made selection; the arrow keys move between words.
 * - Each change is POSTed with the page's CSRF token and answered with the entry's state
 *   (JSON); the highlighting and the redactions table are redrawn from it. The page then
 *   polls the state every second until the new version is rendered, reloads the audio
 *   (its URL carries the revision, so no cache serves the old one) and says so.
 * - While the audio plays, the word being said is marked (class "current" and
 *   aria-current) and kept in view, smoothly unless reduced motion is asked for.
 *
 * Test hooks (harmless): #render-state[data-rendered] says whether the shown version is
 * up to date; #transcript[aria-busy] is "true" while a change is being saved.
 */
(function () {
  'use strict';

  var dataEl = document.getElementById('review-data');
  var transcript = document.getElementById('transcript');
  if (!dataEl || !transcript) return;
  var DATA = JSON.parse(dataEl.textContent);
  var CSRF = (document.querySelector('input[name="csrf_token"]') || {}).value || '';
  var POLL_MS = 1000;         // while a re-render runs…
  var SLOW_POLL_MS = 5000;    // …and once it has taken longer than a minute
  var SLOW_AFTER = 60;        // polls
  var reducedMotion = window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches;

  var words = Array.prototype.slice.call(transcript.querySelectorAll('.word'));
  var statusBox = document.getElementById('review-status');
  var renderState = document.getElementById('render-state');
  var approveButton = document.getElementById('approve-button');
  var approveHelp = document.getElementById('approve-help');
  var typeSelect = document.getElementById('redact-type');
  var recording = DATA.kind !== 'text';

  var state = {status: DATA.status, rendered: DATA.rendered,
               rendered_revision: DATA.renderedRevision,
               redaction_revision: DATA.redactionRevision};
  var busy = false;       // a change is being saved
  var anchor = null;      // the word a Shift-selection extends from
  var dragFrom = null;    // the word a mouse drag started on
  var pollTimer = null;
  var polls = 0;          // since the last change

  // --- small helpers ---------------------------------------------------------------

  function say(message, isError) {
    if (!statusBox) return;
    statusBox.classList.toggle('is-error', !!isError);
    // Emptied first, so saying the same thing twice is still announced.
    statusBox.textContent = '';
    window.setTimeout(function () { statusBox.textContent = message; }, 50);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function indexOf(word) { return parseInt(word.dataset.index, 10); }
  function wordFrom(target) { return target && target.closest ? target.closest('.word') : null; }
  function wordText(i) { return words[i].querySelector('.word-text').textContent; }
  function range(first, last) {
    return first === last ? 'word ' + first : 'words ' + first + '–' + last;
  }
  function clock(seconds) {
    var s = seconds % 60;
    return Math.floor(seconds / 60) + ':' + (s < 10 ? '0' : '') + s.toFixed(1);
  }
  function updatedWhat() { return recording ? 'the audio' : 'the redacted text'; }

  // --- drawing the redactions ----------------------------------------------------------

  function drawRedactions(list) {
    words.forEach(function (w) {
      w.classList.remove('redacted', 'swept');
      delete w.dataset.type;
      w.querySelector('.redaction-note').textContent = '';
    });
    Array.prototype.forEach.call(transcript.querySelectorAll('.placeholder'), function (p) {
      p.remove();
    });
    list.forEach(function (r) {
      var swept = r.source === 'sweep';  // added by the safety sweep: a person checks it
      for (var i = r.first_word; i <= r.last_word && i < words.length; i++) {
        words[i].classList.add('redacted');
        words[i].classList.toggle('swept', swept);
        words[i].dataset.type = r.type;
        words[i].querySelector('.redaction-note').textContent = ' (redacted as ' + r.type
          + (swept ? ', by the safety sweep: please check)' : ')');
      }
      var last = words[Math.min(r.last_word, words.length - 1)];
      last.after(el('span', {'class': swept ? 'placeholder swept' : 'placeholder',
                             'aria-hidden': 'true',
                             text: (DATA.placeholders[r.type] || r.type) + (swept ? ' check' : '')}));
    });
    drawTable(list);
  }

  function removeForm(r) {
    return el('form', {method: 'post', action: DATA.changeUrl, 'class': 'inline'}, [
      el('input', {type: 'hidden', name: 'csrf_token', value: CSRF}),
      el('input', {type: 'hidden', name: 'action', value: 'remove'}),
      el('input', {type: 'hidden', name: 'word', value: String(r.first_word)}),
      el('button', {type: 'submit', 'class': 'secondary'}, [
        document.createTextNode('Remove'),
        el('span', {'class': 'visually-hidden',
                    text: ' the redaction of ' + range(r.first_word, r.last_word)})])]);
  }

  function drawTable(list) {
    var table = document.getElementById('redactions-table');
    if (!table) return;
    var body = table.tBodies[0];
    body.textContent = '';
    list.forEach(function (r) {
      var said = [];
      for (var i = r.first_word; i <= r.last_word; i++) said.push(wordText(i));
      var first = words[r.first_word], last = words[r.last_word];
      var cells = [
        el('td', {text: range(r.first_word, r.last_word)}),
        el('td', {text: said.join(' ')}),
        el('td', {text: DATA.placeholders[r.type] || r.type}),
        el('td', {text: DATA.sources[r.source] || r.source})];
      if (recording) {
        cells.push(el('td', {text: first.dataset.start ? clock(parseFloat(first.dataset.start))
          + '–' + clock(parseFloat(last.dataset.end)) : ''}));
      }
      cells.push(el('td', {}, [removeForm(r)]));
      var row = {'data-first': String(r.first_word), 'data-last': String(r.last_word)};
      if (r.source === 'sweep') row['class'] = 'swept';
      body.appendChild(el('tr', row, cells));
    });
    document.getElementById('no-redactions').hidden = list.length > 0;
    document.getElementById('redactions-region').hidden = list.length === 0;
  }

  // --- the entry's state: rendered or not, may it be approved -------------------------

  function showState(next) {
    var wasRendered = state.rendered;
    state = next;
    if (next.redactions) drawRedactions(next.redactions);
    renderState.dataset.rendered = next.rendered ? 'true' : 'false';
    renderState.textContent = next.rendered
      ? (recording ? 'Audio up to date' : 'Redacted text up to date')
      : 'Re-rendering after your change…';
    var statusText = document.getElementById('status-text');
    if (statusText) statusText.textContent = next.status.replace(/_/g, ' ');
    var stale = document.getElementById('redacted-stale');
    if (stale && !wasRendered && next.rendered) stale.hidden = false;
    var canApprove = next.status === 'awaiting_review' && next.rendered;
    approveButton.disabled = !canApprove;
    if (next.status !== 'awaiting_review') {
      approveHelp.textContent = 'Only an entry awaiting review can be approved (this one is '
        + next.status.replace(/_/g, ' ') + ').';
    } else if (!next.rendered) {
      approveHelp.textContent = 'You can approve once ' + updatedWhat()
        + ' has been re-rendered after the last change'
        + (recording ? ' and you have listened to it.' : '.');
    } else {
      approveHelp.textContent = 'Approving makes the redacted version available for podcast '
        + 'work. The original words stay with the team.';
    }
  }

  function getJSON(url, options) {
    options = options || {};
    options.credentials = 'same-origin';
    options.headers = Object.assign({Accept: 'application/json'}, options.headers || {});
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error((body.error && body.error.message) || 'the server said ' + response.status);
        }
        return body;
      });
    });
  }

  function poll() {
    window.clearTimeout(pollTimer);
    polls += 1;
    pollTimer = window.setTimeout(function () {
      getJSON(DATA.stateUrl).then(function (next) {
        if (next.rendered) {
          showState(next);
          reloadAudio(next.rendered_revision);
          say(recording ? 'Audio updated.' : 'Redacted text updated.');
        } else if (next.status !== 'awaiting_review') {
          showState(next);
          say('Re-rendering stopped: this entry is now ' + next.status.replace(/_/g, ' ')
              + '. Reload the page to see why.', true);
        } else {
          poll();
        }
      }).catch(function () { poll(); });  // a dropped connection: keep asking
    }, polls > SLOW_AFTER ? SLOW_POLL_MS : POLL_MS);
  }

  function reloadAudio(revision) {
    if (!recording || !DATA.audioUrl) return;
    var url = DATA.audioUrl + '?r=' + encodeURIComponent(revision);
    var audio = document.getElementById('review-audio');
    if (!audio) {
      var slot = document.getElementById('audio-slot');
      slot.textContent = '';
      audio = el('audio', {id: 'review-audio', controls: '', preload: 'metadata',
                           'aria-labelledby': 'audio-heading'});
      slot.appendChild(audio);
      followPlayback(audio);
    }
    audio.src = url;
    audio.load();
  }

  // --- changing the redactions ---------------------------------------------------------

  function change(params, message) {
    if (busy) {
      say('Still saving your last change; try again in a moment.');
      return;
    }
    busy = true;
    transcript.setAttribute('aria-busy', 'true');
    var body = new URLSearchParams(params);
    body.append('csrf_token', CSRF);
    getJSON(DATA.changeUrl, {method: 'POST', body: body, headers: {'X-CSRFToken': CSRF}})
      .then(function (next) {
        showState(next);
        say(message + ' Re-rendering ' + updatedWhat() + '…');
        polls = 0;
        if (!next.rendered) poll();
      })
      .catch(function (error) { say('That did not work: ' + error.message, true); })
      .then(function () {
        busy = false;
        transcript.setAttribute('aria-busy', 'false');
      });
  }

  function clearSelecting() {
    words.forEach(function (w) { w.classList.remove('selecting'); });
  }

  function showSelecting(a, b) {
    clearSelecting();
    for (var i = Math.min(a, b); i <= Math.max(a, b); i++) words[i].classList.add('selecting');
  }

  function addRange(a, b) {
    var first = Math.min(a, b), last = Math.max(a, b);
    clearSelecting();
    anchor = null;
    change({action: 'add', first: first, last: last, type: typeSelect.value},
           'Redaction added over ' + range(first, last) + '.');
  }

  function activate(word, extend) {
    var i = indexOf(word);
    if (extend && anchor !== null && anchor !== i) {
      addRange(anchor, i);
    } else if (extend) {
      anchor = i;
      showSelecting(i, i);
      say('Selection starts at word ' + i + '. Shift and select another word to hide the '
          + 'words between as one redaction; Escape to cancel.');
    } else if (word.classList.contains('redacted')) {
      anchor = null;
      clearSelecting();
      change({action: 'remove', word: i}, 'Redaction removed.');
    } else {
      anchor = i;  // a Shift-select next extends this one
      clearSelecting();
      change({action: 'add', first: i, last: i, type: typeSelect.value}, 'Redaction added.');
    }
  }

  function enableEditing() {
    document.getElementById('review-toolbar').hidden = false;

    transcript.addEventListener('click', function (event) {
      var word = wordFrom(event.target);
      if (!word) return;
      activate(word, event.shiftKey);
    });
    // Shift+Enter and Shift+Space extend a selection from the keyboard. They are handled
    // here, not left to the click the button would make, so the Shift is never lost.
    transcript.addEventListener('keydown', function (event) {
      var word = wordFrom(event.target);
      if (event.key === 'Escape' && anchor !== null) {
        anchor = null;
        clearSelecting();
        say('Selection cancelled.');
        return;
      }
      if (word && (event.key === 'ArrowRight' || event.key === 'ArrowLeft')) {
        var next = words[indexOf(word) + (event.key === 'ArrowRight' ? 1 : -1)];
        if (next) next.focus();
        event.preventDefault();
        return;
      }
      if (word && event.shiftKey && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        if (!event.repeat) activate(word, true);
      }
    });
    transcript.addEventListener('keyup', function (event) {
      // A button clicks on Space's keyup: after Shift+Space that click is not wanted.
      if (event.key === ' ' && event.shiftKey) event.preventDefault();
    });

    // Dragging from one word to another hides the run as one redaction. (A press and
    // release on different words makes no click on either, so the two never clash.)
    transcript.addEventListener('mousedown', function (event) {
      var word = wordFrom(event.target);
      if (event.button !== 0 || !word || event.shiftKey) return;
      dragFrom = word;
      transcript.classList.add('dragging');
    });
    transcript.addEventListener('mouseover', function (event) {
      var word = wordFrom(event.target);
      if (dragFrom && word && word !== dragFrom) showSelecting(indexOf(dragFrom), indexOf(word));
    });
    document.addEventListener('mouseup', function (event) {
      if (!dragFrom) return;
      var from = dragFrom, to = wordFrom(event.target);
      dragFrom = null;
      transcript.classList.remove('dragging');
      if (to && to !== from && transcript.contains(to)) addRange(indexOf(from), indexOf(to));
      else if (anchor === null) clearSelecting();
    });
  }

  // --- following the audio -------------------------------------------------------------

  var timed = words.filter(function (w) { return w.dataset.start; }).map(function (w) {
    return {word: w, start: parseFloat(w.dataset.start), end: parseFloat(w.dataset.end)};
  });
  var current = null;

  function wordAt(t) {
    // The last word starting at or before t (binary search: transcripts can be long).
    var lo = 0, hi = timed.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (timed[mid].start <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found < 0 ? null : timed[found].word;
  }

  function markCurrent(word, audio) {
    if (word === current) return;
    if (current) {
      current.classList.remove('current');
      current.removeAttribute('aria-current');
    }
    current = word;
    if (!word) return;
    word.classList.add('current');
    word.setAttribute('aria-current', 'true');
    if (!audio.paused) {
      var box = word.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) {
        word.scrollIntoView({block: 'center', behavior: reducedMotion ? 'auto' : 'smooth'});
      }
    }
  }

  function followPlayback(audio) {
    if (!timed.length) return;
    audio.addEventListener('timeupdate', function () { markCurrent(wordAt(audio.currentTime), audio); });
    audio.addEventListener('ended', function () { markCurrent(null, audio); });
  }

  // --- start -------------------------------------------------------------------------

  var audio = document.getElementById('review-audio');
  if (audio) followPlayback(audio);
  if (DATA.editable && typeSelect) enableEditing();
  if (DATA.editable && !DATA.rendered) poll();  // e.g. after a change made without script
}());
