/* "Are you still there?": after a while with no touch or key, a warning with a countdown,
 * then back to the start (the flow's "idle" event), wiping whatever was not kept. Any
 * touch or key while it shows means someone is here (except asking for it to be read).
 */

export class IdleWatch {
  /**
   * @param {object} options dialog, countEl, seconds() and warnSeconds() (read each time,
   *   so tests may shorten them), active() (no countdown on the welcome screen), busy()
   *   (recording or playing counts as being here), texts {idle_count}, onTimeout, onBack.
   */
  constructor(options) {
    Object.assign(this, options);
    this.timer = 0;
    this.countdown = 0;
    this.dialog.addEventListener('cancel', (event) => { event.preventDefault(); this.stillHere(); });
    ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart'].forEach((type) => {
      document.addEventListener(type, (event) => {
        if (!this.dialog.open) { this.restart(); return; }
        if (type === 'keydown' && !speakerIn(event)) this.stillHere();
      }, { passive: true, capture: true });
    });
    // A click anywhere on the warning (it covers the page) also means someone is here.
    document.addEventListener('click', (event) => {
      if (this.dialog.open && !speakerIn(event)) this.stillHere();
    }, true);
  }

  restart() {
    clearTimeout(this.timer);
    if (this.dialog.open || !this.active()) return;
    this.timer = setTimeout(() => {
      if (this.busy()) { this.restart(); return; }
      this.warn();
    }, this.seconds() * 1000);
  }

  warn() {
    let left = this.warnSeconds();
    const count = () => { this.countEl.textContent = this.texts.idle_count.replace('{n}', left); };
    count();
    document.body.dataset.idle = 'warning';
    if (typeof this.dialog.showModal === 'function') this.dialog.showModal();
    else this.dialog.setAttribute('open', '');
    this.dialog.querySelector('[data-action="still-here"]').focus();
    this.countdown = setInterval(() => {
      left -= 1;
      if (left <= 0) { this.close(); this.onTimeout(); return; }
      count();
    }, 1000);
  }

  close() {
    clearInterval(this.countdown);
    this.countdown = 0;
    delete document.body.dataset.idle;
    if (!this.dialog.open) return;
    if (typeof this.dialog.close === 'function') this.dialog.close();
    else this.dialog.removeAttribute('open');
  }

  stillHere() {
    this.close();
    this.restart();
    this.onBack();
  }
}

function speakerIn(event) {
  return !!(event.target.closest && event.target.closest('[data-say]'));
}
