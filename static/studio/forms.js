/* The studio's forms, sent in the background. Every form marked data-enhance still works
 * as a plain form without the script; with it, the form goes with fetch (its version
 * field set to the episode's version the page knows), and the page is redrawn from the
 * server. data-done="…" is said once it worked; data-reset empties the form afterwards;
 * data-enhance="render" starts the progress bar; ``after(form, answer)`` is called with
 * the server's answer before the page is redrawn. The details form also saves itself a
 * moment after typing stops. Two people changing the episode at once: the second is told,
 * and sees the first one's change (never a silent overwrite).
 */
import { EPISODE_CONFLICT_MESSAGE } from './state.js';

const DETAILS_AFTER_MS = 1200;  // after the last key pressed in the details
const DETAILS = ['title', 'notes', 'theme', 'season', 'number'];

export class Forms {
  /**
   * @param {object} options api (api.js), episode() -> the episode state the page shows,
   *   refresh({keep}) -> Promise (redraw from the server), alert(text), announce(text),
   *   busy() -> whether a render runs now, rendering() (one was asked for), after(form,
   *   answer) (optional).
   */
  constructor(root, options) {
    Object.assign(this, options);
    this.detailsTimer = null;
    root.addEventListener('submit', (event) => {
      const form = event.target.closest('form[data-enhance]');
      if (!form) return;
      event.preventDefault();
      if (form.dataset.enhance === 'render' && this.busy()) return;
      clearTimeout(this.detailsTimer);
      const keep = event.submitter && event.submitter.id ? event.submitter.id : null;
      this.send(form, { keep });
    });
    const details = root.querySelector('#details-form');
    if (details) {
      details.addEventListener('input', () => {
        clearTimeout(this.detailsTimer);
        this.detailsTimer = setTimeout(() => {
          if (details.checkValidity()) this.send(details);
        }, DETAILS_AFTER_MS);
      });
    }
  }

  /** Send ``form`` (or ``data`` to ``url`` on its behalf); ``keep``: the id to focus after. */
  async send(form, { keep = null, data = new FormData(form), url = form.action } = {}) {
    if (data.has('version')) data.set('version', String(this.episode().version));
    form.setAttribute('aria-busy', 'true');
    try {
      const answer = await this.api.postForm(url, data);
      if (form.dataset.enhance === 'render') this.rendering();
      if (this.after) await this.after(form, answer);
      if (form.hasAttribute('data-reset')) form.reset();
      this.alert('');
      if (form.dataset.done) this.announce(form.dataset.done);
      await this.refresh({ keep });
    } catch (e) {
      const conflict = e.status === 409;
      this.alert(conflict ? EPISODE_CONFLICT_MESSAGE : `That did not work: ${e.message}`);
      if (conflict || e.status === 410) {
        await this.refresh({ keep }).catch(() => {});
        if (conflict && form.id === 'details-form') this.fillDetails(form);
      }
    } finally {
      form.removeAttribute('aria-busy');
    }
  }

  /** The details as the server has them now (after someone else changed them). */
  fillDetails(form) {
    const episode = this.episode();
    DETAILS.forEach((name) => {
      if (form.elements[name]) form.elements[name].value = episode[name] ?? '';
    });
  }
}
