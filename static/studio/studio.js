/* The studio page's wiring (templates/podcast/studio.html). Without this script every
 * step but editing a part works as plain forms. With it:
 * - forms marked data-enhance are sent in the background, and the page's regions are
 *   redrawn from the server (regions.js), the keyboard staying where it was;
 * - a part's edits (editor.js) save by themselves a moment after the last change, naming
 *   the version they were made on: if someone else saved first, the page says so, shows
 *   theirs and drops nothing silently (state.js holds the save states);
 * - "Make the episode" shows its progress (render.js); a co-host records a link with the
 *   kiosk's recorder, kept and sent resumably (link.js); parts can be dragged into
 *   order (timeline.js).
 *
 * Test hooks (harmless): #studio[data-save] is the save state (idle when all is saved).
 */
import * as E from './edits.js';
import { createApi } from './api.js';
import { Editor } from './editor.js';
import { Forms } from './forms.js';
import { LinkRecorder } from './link.js';
import { addAsPart } from './outbox.js';
import { fetchPage, pageData, swapRegions } from './regions.js';
import { RenderPanel } from './render.js';
import { CONFLICT_MESSAGE, Machine, canEdit, rendering, saveText } from './state.js';
import { Timeline } from './timeline.js';

const SAVE_AFTER_MS = 700;      // after the last change
const RETRY_AFTER_MS = 5000;    // after a save that found no server
const WATCH_MS = 15000;         // how often to look for others' changes and problems
const $ = (id) => document.getElementById(id);
const DATA = pageData(document);
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
const api = createApi({ csrf });
const segmentUrl = (id, action) => `${DATA.urls.segments}/${id}/${action}`;

let episode = DATA.state;
let selected = DATA.selected;
const histories = new Map();  // segment id -> its edits in the page (edits.js history)
const versions = new Map();   // segment id -> the version those edits were made on
let saveTimer = null;

function announce(text) {
  const box = $('announcer');
  box.textContent = '';
  setTimeout(() => { box.textContent = text; }, 50);
}

function alertText(text) {
  $('studio-alert').textContent = text;
  $('studio-alert').hidden = !text;
}

const machine = new Machine((state) => {
  $('save-status').textContent = saveText(state);
  $('studio').dataset.save = state.save;
  renderPanel.draw(state);
});
const renderPanel = new RenderPanel($('step-render'), {
  api, machine, stateUrl: DATA.urls.state, onState: () => refresh(),
});
const editor = new Editor($('step-edit'), { api, onEdit, onUndo });
const timeline = new Timeline($('step-parts'), { onMove: move, onSelect: select });
const segment = (id) => episode.segments.find((s) => s.id === id);

function historyOf(seg) {
  if (!histories.has(seg.id)) {
    histories.set(seg.id, E.history(seg.edits));
    versions.set(seg.id, seg.version);
  }
  return histories.get(seg.id);
}

/** A new episode state from the server: parts nobody is changing here take its edits. */
function applyState(next) {
  episode = next;
  for (const seg of next.segments) {
    const h = histories.get(seg.id);
    if (h && !E.isDirty(h) && versions.get(seg.id) !== seg.version) histories.delete(seg.id);
    historyOf(seg);
  }
  document.querySelectorAll('form[data-enhance] input[name="version"]').forEach((input) => {
    input.value = String(next.version);
  });
  if (selected !== null && !segment(selected)) selected = null;
  drawEditor();
  timeline.enable();
  renderPanel.chapters();
}

function drawEditor() {
  const seg = selected === null ? null : segment(selected);
  if (!seg) { editor.close(); return; }
  const h = historyOf(seg);
  editor.open(seg, h.present, { first: episode.segments[0].id === seg.id,
    canUndo: E.canUndo(h) || seg.version > 1 });
}

async function refresh({ keep = null } = {}) {
  const doc = await fetchPage(location.href);
  swapRegions(doc, { keep });
  applyState(pageData(doc).state);
  machine.send({ type: 'render', render: episode.render });
}

// --- a part's edits: change, save a moment later, undo ----------------------------------

function onEdit(next, message) {
  const seg = segment(selected);
  if (!seg || !canEdit(machine.state)) return;
  histories.set(seg.id, E.change(historyOf(seg), next));
  edited(message);
}

function edited(message) {
  alertText('');
  machine.send({ type: 'edited' });
  drawEditor();
  if (message) announce(message);
  scheduleSave();
}

function scheduleSave(delay = SAVE_AFTER_MS) {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(flush, delay);
}

/** The server's answer for a part: its edits, version and lengths replace the page's. */
function merge(seg) {
  const i = episode.segments.findIndex((s) => s.id === seg.id);
  if (i >= 0) episode.segments[i] = { ...episode.segments[i], ...seg };
  versions.set(seg.id, seg.version);
}

async function flush() {
  if (machine.state.save !== 'pending') return;
  const id = [...histories.keys()].find((k) => E.isDirty(histories.get(k)));
  machine.send({ type: 'save' });
  if (id === undefined) { machine.send({ type: 'saved' }); return; }
  try {
    const seg = await api.post(segmentUrl(id, 'edits'),
      { edits: E.compact(histories.get(id).present), version: versions.get(id) });
    merge(seg);
    histories.set(id, E.saved(histories.get(id), seg.edits));
    machine.send({ type: 'saved' });
    if ([...histories.values()].some(E.isDirty)) machine.send({ type: 'edited' });
    if (machine.state.save === 'idle') { drawEditor(); refresh().catch(() => {}); }
  } catch (e) {
    await saveFailed(id, e);
  }
  if (machine.state.save === 'pending') scheduleSave();
}

async function saveFailed(id, e) {
  if (e.status === 409 || e.status === 410) {
    const message = e.status === 409 ? CONFLICT_MESSAGE : e.message;
    machine.send({ type: 'conflict', message });
    histories.delete(id);
    await refresh().catch(() => {});
    machine.send({ type: 'loaded', episode });
    alertText(message);
  } else if (e.status === 0 || e.status >= 500 || e.status === 429) {
    machine.send({ type: 'failed', message: `${e.message} Trying again shortly.` });
    setTimeout(() => { machine.send({ type: 'edited' }); scheduleSave(0); }, RETRY_AFTER_MS);
  } else {  // refused as it is: the part goes back to what was saved
    const h = histories.get(id);
    histories.set(id, { ...h, present: h.saved });
    machine.send({ type: 'failed', message: `${e.message} The part is back as it was.` });
    alertText(`Your change was not saved: ${e.message}`);
    drawEditor();
  }
}

async function onUndo() {
  const seg = segment(selected);
  if (!seg) return;
  const h = historyOf(seg);
  if (E.canUndo(h)) {
    histories.set(seg.id, E.undo(h));
    edited('Undone.');
    return;
  }
  // Nothing to undo in this page (it was reloaded): the server keeps earlier edit lists.
  try {
    const back = await api.post(segmentUrl(seg.id, 'undo'), { version: versions.get(seg.id) });
    merge(back);
    histories.set(seg.id, E.history(back.edits));
    drawEditor();
    announce('Undone.');
  } catch (e) {
    await saveFailed(seg.id, e);
  }
}

// --- forms sent in the background, and parts dragged into order ------------------------

const forms = new Forms(document, {
  api, episode: () => episode, refresh, alert: alertText, announce,
  busy: () => rendering(machine.state), rendering: () => machine.send({ type: 'render_requested' }),
  after: (form, answer) => (form.dataset.enhance === 'recording' ? addRecording(answer) : null),
});

/** What a form would send: ``values``, the CSRF token and the episode's version. */
function fields(values) {
  const data = new FormData();
  const all = { ...values, version: episode.version, csrf_token: csrf() };
  Object.entries(all).forEach(([k, v]) => data.set(k, String(v)));
  return data;
}

/** A co-host recording the server has taken (``{id, status}``) goes in at the end. */
function addRecording(answer) {
  return api.postForm(DATA.urls.segments, fields({ recording_id: answer.id }));
}

function move(id, position) {
  const data = fields({ position });
  forms.send($(`up-${id}`).form, { keep: `open-${id}`, data, url: segmentUrl(id, 'move') });
}

// --- choosing the part to edit ----------------------------------------------------------

function select(id) {
  selected = id;
  history.replaceState(null, '', `?part=${id}`);
  drawEditor();
  $('editor-title').focus();
  $('step-edit').scrollIntoView({ block: 'start' });
}

// Someone else's change, or an entry withdrawn meanwhile, shows without a reload.
const changes = (e) => JSON.stringify([e.version, e.problems, e.comments.length,
  e.segments.map((s) => [s.id, s.version, s.problem]), e.render && e.render.state]);
setInterval(async () => {
  if (document.hidden || machine.state.save !== 'idle') return;
  const now = await api.get(DATA.urls.state).catch(() => null);
  if (now && changes(now) !== changes(episode)) refresh().catch(() => {});
}, WATCH_MS);

window.addEventListener('beforeunload', (event) => {
  if (['pending', 'saving'].includes(machine.state.save)) event.preventDefault();
});

new LinkRecorder($('link-recorder'), {
  api, urls: DATA.urls, who: { episodeId: episode.id, userId: DATA.me },
  onSaved: () => refresh().catch(() => {}),
  onSent: (answer) => addAsPart(() => addRecording(answer), { refresh })
    .finally(() => refresh().catch(() => {})) });
$('editor-root').hidden = false;
$('editor-needs-js').hidden = true;
machine.send({ type: 'loaded', episode });
applyState(episode);
