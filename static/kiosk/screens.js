/* The kiosk's screens and how a person moves between them: ONE transition table that
 * forward moves, "Back", the idle wipe and the tests all use. Pure: no DOM here, so
 * tests/js/screens.test.mjs runs it under node --test.
 *
 * A target is a screen name, or a function of the flow's context (what is being made,
 * whether question cards are offered) returning one. An event a screen does not list is
 * refused (move() returns null), so a stray click can never jump the flow.
 */

const beforeFlow = (ctx) => (ctx.hasCards ? 'cards' : 'welcome');
const afterCards = (ctx) => (ctx.kind === 'text' ? 'write' : 'consent');
const afterStart = (ctx) => (ctx.hasCards ? 'cards' : afterCards(ctx));

export const TRANSITIONS = Object.freeze({
  welcome: { start: afterStart, change: 'change' },
  cards: { card: afterCards, back: 'welcome' },
  write: { next: 'consent', back: beforeFlow, discard: 'discard' },
  consent: {
    next: (ctx) => (ctx.kind === 'text' ? 'saving' : 'record'),
    back: (ctx) => (ctx.kind === 'text' ? 'write' : beforeFlow(ctx)),
  },
  // "Write instead" when the microphone cannot be used.
  record: { stopped: 'review', back: 'consent', start: afterStart },
  review: { keep: 'saving', again: 'record', discard: 'discard' },
  // "No, go back" returns to wherever "Throw it away" was pressed.
  discard: { no: (ctx) => ctx.discardFrom || 'welcome', yes: 'welcome' },
  saving: { saved: 'receipt', finish: 'welcome' },  // "Leave it and go to the start"
  // The code is gone for good after Finish, so ask first.
  receipt: { finish: 'finish-confirm' },
  'finish-confirm': { yes: 'welcome', no: 'receipt' },
  change: { found: 'change-found', home: 'welcome' },
  'change-found': { changed: 'change-done', withdraw: 'withdraw', home: 'welcome' },
  withdraw: { no: 'change-found', yes: 'change-done' },
  'change-done': { finish: 'welcome' },
});

// Events any screen accepts: the idle wipe, and a kept recording found after a reload.
export const ANYWHERE = Object.freeze({ idle: 'welcome', resume: 'saving' });

export const SCREENS = Object.freeze(Object.keys(TRANSITIONS));

/** Where ``event`` leads from ``screen``, or null when that screen has no such move. */
export function target(screen, event, ctx = {}) {
  const row = TRANSITIONS[screen];
  const to = (row && row[event]) || ANYWHERE[event];
  if (!to) return null;
  return typeof to === 'function' ? to(ctx) : to;
}

/** The numbered steps of the flow being made ("Step 2 of 4"); screens not in it show none. */
export function steps(ctx) {
  const flow = ctx.kind === 'text' ? ['write', 'consent', 'receipt']
    : ['consent', 'record', 'review', 'receipt'];
  return ctx.hasCards ? ['cards', ...flow] : flow;
}

// Screens that count as another step of the flow (the confirm belongs to the receipt).
const STEP_OF = { saving: 'receipt', 'finish-confirm': 'receipt' };

/** ``{n, total}`` for the step label on ``screen``, or null when it has none. */
export function stepOf(screen, ctx) {
  const list = steps(ctx);
  const name = screen === 'discard' ? ctx.discardFrom : (STEP_OF[screen] || screen);
  const n = list.indexOf(name);
  return n < 0 ? null : { n: n + 1, total: list.length };
}

/**
 * The flow's state: the screen showing and the context its moves depend on. ``onChange``
 * hears every change of screen (``to, from, event``) and is where the page shows it.
 */
export class Flow {
  constructor({ hasCards = false, onChange = () => {} } = {}) {
    this.hasCards = hasCards;
    this.onChange = onChange;
    this.reset();
  }

  reset() {
    this.screen = 'welcome';
    this.kind = null;
    this.discardFrom = null;
  }

  get context() {
    return { kind: this.kind, hasCards: this.hasCards, discardFrom: this.discardFrom };
  }

  can(event) {
    return target(this.screen, event, this.context) !== null;
  }

  /** Take ``event``; returns the new screen, or null (and nothing changes) if refused. */
  send(event, { kind } = {}) {
    const from = this.screen;
    const ctx = event === 'start' ? { ...this.context, kind: kind || 'audio' } : this.context;
    const to = target(from, event, ctx);
    if (to === null) return null;
    this.kind = ctx.kind;
    if (event === 'idle') this.reset();
    if (to === 'discard') this.discardFrom = from;
    if (to === 'welcome') this.reset();
    this.screen = to;
    this.onChange(to, from, event);
    return to;
  }
}
