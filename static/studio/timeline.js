/* Step 2's list of parts, dragged into a new order with a mouse. The page draws the list
 * (templates/podcast/studio.html) with a "Move up" and a "Move down" form on every part,
 * so the keyboard, and a browser without this script, can do everything a drag can;
 * a drop here only works out the new place and hands it to ``onMove``. "Edit this part"
 * (a link to the page with ?part=) opens the part here without a reload (``onSelect``).
 */

/** The ids in a new order: the one at ``from`` taken out and put in at ``to``. */
export function reorder(ids, from, to) {
  const out = ids.slice();
  const [moved] = out.splice(from, 1);
  out.splice(Math.max(0, Math.min(out.length, to)), 0, moved);
  return out;
}

/** The place (0 = first) a part taken from ``from`` lands when dropped just before the
 *  part now at ``before`` (``before`` = the number of parts: at the end). */
export function dropTarget(from, before) {
  return before > from ? before - 1 : before;
}

export class Timeline {
  /** ``root`` holds the list (it may be redrawn: the list is looked up each time). */
  constructor(root, { onMove, onSelect }) {
    Object.assign(this, { root, onMove, onSelect });
    this.dragging = null;
    root.addEventListener('click', (e) => this.clicked(e));
    root.addEventListener('dragstart', (e) => this.dragStart(e));
    root.addEventListener('dragover', (e) => this.dragOver(e));
    root.addEventListener('drop', (e) => this.drop(e));
    root.addEventListener('dragend', () => this.dragEnd());
  }

  items() {
    return [...this.root.querySelectorAll('li.part')];
  }

  /** Make the parts draggable (after every redraw of the list). */
  enable() {
    this.items().forEach((li) => { li.draggable = true; });
  }

  clicked(event) {
    const link = event.target.closest('a[data-part]');
    if (!link) return;
    event.preventDefault();
    const id = Number(link.dataset.part);
    this.root.querySelectorAll('a[data-part]').forEach((a) => {
      const on = Number(a.dataset.part) === id;
      if (on) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
      a.closest('li.part').classList.toggle('is-open', on);
      a.querySelector('.part-edit-cue').textContent = on ? 'Editing now' : 'Edit this part';
    });
    this.onSelect(id);
  }

  dragStart(event) {
    const item = event.target.closest && event.target.closest('li.part');
    if (!item) return;
    this.dragging = item;
    item.classList.add('is-dragging');
    event.dataTransfer.effectAllowed = 'move';
    event.dataTransfer.setData('text/plain', item.dataset.id);
  }

  beforeIndex(event) {
    const found = this.items().findIndex((li) => {
      const box = li.getBoundingClientRect();
      return event.clientY < box.top + box.height / 2;
    });
    return found < 0 ? this.items().length : found;
  }

  dragOver(event) {
    if (!this.dragging) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    const before = this.beforeIndex(event);
    const items = this.items();
    items.forEach((li, i) => li.classList.toggle('drop-before', i === before));
    items.forEach((li, i) => li.classList.toggle('drop-after', before === items.length && i === items.length - 1));
  }

  drop(event) {
    if (!this.dragging) return;
    event.preventDefault();
    const item = this.dragging;
    const from = this.items().indexOf(item);
    const to = dropTarget(from, this.beforeIndex(event));
    this.dragEnd();
    if (from >= 0 && to !== from) this.onMove(Number(item.dataset.id), to, item);
  }

  dragEnd() {
    this.dragging = null;
    this.items().forEach((li) => li.classList.remove('drop-before', 'drop-after', 'is-dragging'));
  }
}
