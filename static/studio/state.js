/* The studio page's one state machine: is the page loading, are changes waiting to be
 * saved or being saved, did someone else change the same thing (conflict), did a save
 * fail; and, beside it, where the latest render is. ``transition`` is pure (tested by
 * tests/js/studio_state.test.mjs); ``Machine`` holds the current state and tells the page.
 *
 * save:   loading -loaded-> idle -edited-> pending -save-> saving -saved-> idle
 *         saving -edited-> saving (again: once saved, it goes back to pending)
 *         saving -conflict-> conflict -loaded-> idle;  saving -failed-> failed -edited-> pending
 * render: none|done|failed -requested-> queued -progress-> running -progress-> done|failed
 */

export const CONFLICT_MESSAGE = 'Someone else changed this part a moment ago. Your change '
  + 'was not saved; you now see theirs.';
export const EPISODE_CONFLICT_MESSAGE = 'Someone else changed this episode a moment ago. '
  + 'Your change was not saved; you now see theirs.';

export const INITIAL = Object.freeze({
  save: 'loading', again: false, message: '',
  render: Object.freeze({ state: 'none', progress: 0, error: '' }),
});

const RENDER_STATES = new Set(['none', 'queued', 'running', 'done', 'failed', 'deleted']);
const RUNNING = new Set(['queued', 'running']);

/** 0..1 from the server's progress, a percentage (as the job table keeps it). */
export function fraction(progress) {
  return Math.max(0, Math.min(1, (Number(progress) || 0) / 100));
}

function renderFrom(render) {
  if (!render) return { state: 'none', progress: 0, error: '' };
  const state = RENDER_STATES.has(render.state) ? render.state : 'queued';
  return { state, progress: state === 'done' ? 1 : fraction(render.progress),
    error: render.error || '' };
}

function nextSave(state, event) {
  const s = state.save;
  switch (event.type) {
    case 'loaded':
      return { ...state, save: 'idle', again: false, message: '' };
    case 'edited':
      if (s === 'loading' || s === 'conflict') return state;
      if (s === 'saving') return { ...state, again: true };
      return { ...state, save: 'pending', message: '' };
    case 'save':
      return s === 'pending' ? { ...state, save: 'saving', again: false } : state;
    case 'saved':
      if (s !== 'saving') return state;
      return { ...state, save: state.again ? 'pending' : 'idle', again: false, message: '' };
    case 'conflict':
      return { ...state, save: 'conflict', again: false,
        message: event.message || CONFLICT_MESSAGE };
    case 'failed':
      return { ...state, save: 'failed', again: false, message: event.message || '' };
    case 'reload':
      return { ...state, save: 'loading' };
    default:
      return state;
  }
}

function nextRender(state, event) {
  if (event.type === 'render_requested') {
    return { ...state, render: { state: 'queued', progress: 0, error: '' } };
  }
  if (event.type === 'render' || event.type === 'loaded') {
    const render = event.type === 'render' ? event.render : event.episode?.render;
    if (event.type === 'loaded' && render === undefined) return state;
    return { ...state, render: renderFrom(render) };
  }
  return state;
}

/** The state after ``event`` ({type, ...}); an event that does not apply changes nothing. */
export function transition(state, event) {
  return nextRender(nextSave(state, event), event);
}

export function rendering(state) {
  return RUNNING.has(state.render.state);
}

/** Whether the page accepts edits now (not while loading, nor before a conflict is shown). */
export function canEdit(state) {
  return state.save !== 'loading' && state.save !== 'conflict';
}

/** What the save status line says, in plain words. */
export function saveText(state) {
  switch (state.save) {
    case 'loading': return 'Loading…';
    case 'pending': return 'Saving soon…';
    case 'saving': return 'Saving…';
    case 'conflict': return state.message;
    case 'failed': return `Not saved: ${state.message || 'something went wrong'}`;
    default: return 'All changes saved.';
  }
}

/** What the render status line says. */
export function renderText(state) {
  const r = state.render;
  if (r.state === 'queued') return 'Waiting to start making the episode…';
  if (r.state === 'running') return `Making the episode: ${Math.round(r.progress * 100)}% done.`;
  if (r.state === 'done') return 'The episode is ready. Listen to it below.';
  if (r.state === 'failed') return `Making the episode did not work: ${r.error || 'no reason given'}`;
  return '';
}

export class Machine {
  constructor(onChange = () => {}) {
    this.state = INITIAL;
    this.onChange = onChange;
  }

  send(event) {
    const before = this.state;
    this.state = transition(before, event);
    if (this.state !== before) this.onChange(this.state, before, event);
    return this.state;
  }
}
