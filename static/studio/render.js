/* Step 4: making the episode. The request starts a background job; the page then asks
 * for the episode's state every second (every five after a minute) and moves the
 * progress bar, saying in words how far it is (at most every quarter, so a screen reader
 * is not flooded). Once done, the page is redrawn with the new player; the chapters of
 * the current render are listed from its chapters JSON, each a button that plays from
 * there.
 */
import { clock } from './format.js';
import { renderText, rendering } from './state.js';

const POLL_MS = 1000;
const SLOW_POLL_MS = 5000;
const SLOW_AFTER = 60;  // polls

/** The quarter (0..4) a progress fraction has reached: a new one is announced. */
export function quarter(progress) {
  return Math.floor(Math.max(0, Math.min(1, progress)) * 4);
}

export class RenderPanel {
  constructor(root, { api, machine, stateUrl, onState }) {
    Object.assign(this, { root, api, machine, stateUrl, onState });
    const q = (id) => root.querySelector(`#${id}`);
    this.el = { box: q('render-progress'), bar: q('render-bar'), percent: q('render-percent'),
      status: q('render-status'), button: q('render-button') };
    this.timer = null;
    this.polls = 0;
    this.said = -1;
  }

  /** Draw the render part of the machine's state (called on every change). */
  draw(state) {
    const r = state.render;
    const busy = rendering(state);
    this.el.box.hidden = !busy;
    const percent = Math.round(r.progress * 100);
    this.el.bar.value = percent;
    this.el.percent.textContent = `${percent}%`;
    this.el.button.textContent = busy ? 'Making the episode…' : 'Make the episode';
    this.el.button.setAttribute('aria-disabled', String(busy));
    const q = r.state === 'done' ? 5 : quarter(r.progress);
    if (busy && q !== this.said) {
      this.said = q;
      this.el.status.textContent = renderText(state);
    } else if (!busy && r.state !== 'none') {
      this.el.status.textContent = renderText(state);
      this.said = -1;
    }
    if (busy) this.poll();
  }

  poll() {
    if (this.timer) return;
    this.timer = setTimeout(async () => {
      this.timer = null;
      this.polls += 1;
      try {
        const episode = await this.api.get(this.stateUrl);
        const before = this.machine.state.render.state;
        this.machine.send({ type: 'render', render: episode.render });
        if (!rendering(this.machine.state) && before !== this.machine.state.render.state) {
          this.polls = 0;
          await this.onState(episode, { finished: true });
        }
      } catch (e) {
        if (rendering(this.machine.state)) this.poll();  // a dropped connection: ask again
      }
    }, this.polls > SLOW_AFTER ? SLOW_POLL_MS : POLL_MS);
  }

  /** List the chapters of the current render beside its player. */
  async chapters() {
    const list = document.getElementById('chapters');
    const audio = document.getElementById('episode-audio');
    if (!list || !list.dataset.src || list.dataset.loaded === list.dataset.src) return;
    list.dataset.loaded = list.dataset.src;
    try {
      const data = await this.api.get(list.dataset.src);
      list.textContent = '';
      (data.chapters || []).forEach((c, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'link chapter';
        b.id = `chapter-${i}`;
        b.textContent = `${clock(c.startTime)} ${c.title || `Chapter ${i + 1}`}`;
        b.addEventListener('click', () => {
          audio.currentTime = c.startTime;
          audio.play().catch(() => {});
        });
        const li = document.createElement('li');
        li.append(b);
        list.append(li);
      });
    } catch (e) {
      list.dataset.loaded = '';
    }
  }
}
