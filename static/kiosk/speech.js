/* Reading aloud: a screen's words from the kiosk's recorded prompts (espeak-ng, made on the
 * server), or the browser's own voice when a prompt cannot play; a receipt code one word at
 * a time. Every "Read aloud" button is a toggle (aria-pressed).
 */
import { spokenWords } from './receipt.js';

const CODE_RATE = 0.75;  // slower for a code being written down
const WORD_GAP_MS = 350;

export class Speaker {
  constructor({ lang, urls, texts }) {
    Object.assign(this, { lang, urls, texts });
    this.player = new Audio();
    this.playing = null;   // the button whose words are playing
    this.sequence = null;  // words of a code still to play
    this.player.addEventListener('ended', () => {
      if (this.sequence && this.sequence.length) { this.playNext(); return; }
      this.label(this.playing, false);
      this.playing = null;
    });
    this.player.addEventListener('error', () => {
      if (!this.sequence) return;  // a word's recording failed: the browser reads it all
      const { words } = this.sequence;
      this.sequence = null;
      if (!this.browser(words.join(', '), CODE_RATE)) this.stop();
    });
  }

  busy() {
    return !this.player.paused && !this.player.ended;
  }

  label(button, on) {
    if (!button) return;
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    const label = button.querySelector('.speak-label');
    if (label) label.textContent = on ? this.texts.stop_reading : this.texts.read_aloud;
  }

  stop() {
    this.sequence = null;
    this.player.pause();
    if ('speechSynthesis' in window) window.speechSynthesis.cancel();
    this.label(this.playing, false);
    this.playing = null;
  }

  browser(text, rate) {
    if (!('speechSynthesis' in window) || !window.SpeechSynthesisUtterance) return false;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = this.lang;
    utterance.rate = rate || 0.9;
    utterance.onend = () => { this.label(this.playing, false); this.playing = null; };
    window.speechSynthesis.speak(utterance);
    return true;
  }

  /** The heading and first shown paragraph (or notice) of the screen holding ``button``. */
  static words(button) {
    const container = button.closest('section, dialog');
    const heading = container.querySelector('h1, h2');
    const lead = container.querySelector('.lead:not([hidden])')
      || container.querySelector('.notice:not([hidden])');
    return [heading, lead].filter(Boolean).map((el) => el.innerText.trim()).join('. ');
  }

  /** The screen's recorded words (``data-say`` names them), or, with none named or when
   *  they cannot play, the browser's voice reading what the screen shows. */
  say(button) {
    if (this.playing === button) { this.stop(); return; }
    this.stop();
    this.playing = button;
    this.label(button, true);
    if (!button.dataset.say) {
      if (!this.browser(Speaker.words(button))) this.stop();
      return;
    }
    this.player.src = this.urls.voice + encodeURIComponent(button.dataset.say) + '.mp3';
    this.player.play().catch(() => {
      if (this.playing === button && !this.browser(Speaker.words(button))) this.stop();
    });
  }

  playNext() {
    const word = this.sequence.shift();
    setTimeout(() => {
      if (!this.sequence && word !== undefined) return;
      this.player.src = this.urls.words + encodeURIComponent(word) + '.mp3';
      this.player.play().catch(() => {});
    }, WORD_GAP_MS);
  }

  localVoice() {
    if (!('speechSynthesis' in window)) return null;
    const prefix = this.lang.split('-')[0].toLowerCase();
    return window.speechSynthesis.getVoices().find((v) => v.localService && v.lang
      && v.lang.toLowerCase().startsWith(prefix)) || null;
  }

  /** The browser's own voice if it has one for this language; else the recorded words. */
  sayCode(button, code) {
    const words = spokenWords(code);
    if (!words.length) return;
    this.stop();
    this.playing = button;
    if (this.localVoice() && this.browser(words.join(', '), CODE_RATE)) return;
    this.sequence = words.slice(1);
    this.sequence.words = words;
    this.player.src = this.urls.words + encodeURIComponent(words[0]) + '.mp3';
    this.player.play().catch(() => {
      this.sequence = null;
      if (!this.browser(words.join(', '), CODE_RATE)) this.stop();
    });
  }
}
