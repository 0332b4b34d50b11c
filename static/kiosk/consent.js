/* The consent form, read into a consent object and filled from one. The RULES (which
 * audience leaves the voice choice open) are not written here: the page is given them by
 * diaryroom/domain/consent.py client_rules() in <script id="consent-rules">, and this
 * module applies what it is given. The pure half is tested by tests/js/consent.test.mjs.
 */

/** The voices open for ``audience`` and ``kind`` under ``rules``; the first is the safe one. */
export function allowedVoices(rules, audience, kind) {
  if ((rules.voicelessKinds || []).includes(kind)) return [rules.defaults.voice];
  return rules.voices[audience] || [rules.defaults.voice];
}

export function voiceOpen(rules, audience, kind) {
  return allowedVoices(rules, audience, kind).length > 1;
}

/** The voice to send: the one wanted if it is open, else the safe one. */
export function voiceFor(rules, audience, wanted, kind) {
  const allowed = allowedVoices(rules, audience, kind);
  return allowed.includes(wanted) ? wanted : allowed[0];
}

/** A whole consent object from what was chosen, with the rules applied. */
export function consentFrom(rules, { audience, wantsDisguise, panelQuotes }, kind) {
  const chosen = rules.audiences.includes(audience) ? audience : rules.defaults.audience;
  return {
    audience: chosen,
    voice: voiceFor(rules, chosen, wantsDisguise ? 'disguise' : 'natural', kind),
    panel_quotes: !!panelQuotes,
  };
}

/**
 * One consent form on the page (``prefix`` "c" on the way in, "m" to change your mind).
 * When the rules lock the voice, the tick box is not shown greyed out: [data-voice-choice]
 * is hidden and the plain statement [data-voice-locked] is shown in its place.
 */
export class ConsentForm {
  constructor(doc, prefix, rules) {
    this.rules = rules;
    this.radios = [...doc.querySelectorAll(`input[name="${prefix}-audience"]`)];
    this.voice = doc.getElementById(`${prefix}-voice`);
    this.panel = doc.getElementById(`${prefix}-panel`);
    const group = this.voice.closest('[data-voice-group]');
    // The tick box with its label and hint, and the statement shown instead when locked.
    this.choice = group.querySelector('[data-voice-choice]');
    this.locked = group.querySelector('[data-voice-locked]');
    // The change form's group is not shown by kind, so it is hidden here for a written entry.
    this.group = group.matches('[data-only-kind]') ? null : group;
    this.wantsDisguise = true;  // what they ticked, kept while the audience locks it
    this.kind = null;
    this.voice.addEventListener('change', () => { this.wantsDisguise = this.voice.checked; });
    this.radios.forEach((r) => r.addEventListener('change', () => this.sync()));
  }

  audience() {
    const checked = this.radios.find((r) => r.checked);
    return checked ? checked.value : this.rules.defaults.audience;
  }

  /** Show the voice choice, or the statement that stands for it, for the audience chosen. */
  sync() {
    const open = voiceOpen(this.rules, this.audience(), this.kind);
    if (this.group) this.group.hidden = (this.rules.voicelessKinds || []).includes(this.kind);
    this.choice.hidden = !open;
    this.locked.hidden = open;
    this.voice.checked = open ? this.wantsDisguise : true;
  }

  read() {
    return consentFrom(this.rules, {
      audience: this.audience(), wantsDisguise: this.wantsDisguise,
      panelQuotes: this.panel.checked,
    }, this.kind);
  }

  set(consent, kind = null) {
    const c = { ...this.rules.defaults, ...consent };
    this.kind = kind;
    this.radios.forEach((r) => { r.checked = r.value === c.audience; });
    this.wantsDisguise = c.voice !== 'natural';
    this.panel.checked = !!c.panel_quotes;
    this.sync();
  }

  reset(kind = null) {
    this.set(this.rules.defaults, kind);
  }
}
