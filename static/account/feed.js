// "Your podcast feed": a button that copies the feed link. Without this script the link
// is still a plain text box a person can select and copy, so the button starts hidden.
//
// One small state machine: idle -> copied | failed, said out loud in a status line.

const MESSAGES = {
  idle: '',
  copied: 'Copied. Now paste it in your podcast app.',
  failed: 'Could not copy. The link is selected: copy it yourself.',
};

/** Copy ``text``: the Clipboard API where the page may use it, else the old way. */
export async function copyText(text, field, clipboard = navigator.clipboard) {
  if (clipboard && window.isSecureContext) {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Refused (no permission, page not focused): try the old way below.
    }
  }
  field.focus();
  field.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

export function setUp(box) {
  const field = box.querySelector('[data-feed-url]');
  const button = box.querySelector('[data-copy]');
  const status = box.querySelector('[data-copy-status]');
  if (!field || !button || !status) return;
  let state = 'idle';
  const show = (next) => {
    state = next;
    status.textContent = MESSAGES[state];
    box.dataset.state = state;
  };
  // Selecting the whole link on focus makes copying by hand one step too.
  field.addEventListener('focus', () => field.select());
  button.addEventListener('click', async () => {
    const ok = await copyText(field.value, field);
    show(ok ? 'copied' : 'failed');
    if (!ok) {
      field.focus();
      field.select();
    }
  });
  button.hidden = false;
  show(state);
}

const box = document.querySelector('[data-feed-link]');
if (box) setUp(box);
