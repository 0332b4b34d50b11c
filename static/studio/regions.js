/* The page draws itself once, on the server (templates/podcast/studio.html), so every
 * form works without this script. After a change the script fetches the page again and
 * swaps in each part marked data-region whose HTML changed (a playing player or a
 * half-typed comment elsewhere is left alone), then puts the keyboard back where it was:
 * the element with the same id, else its data-fallback, else the region's heading.
 */

/** The page's JSON block (``#studio-data``) from a parsed document. */
export function pageData(doc, id = 'studio-data') {
  const block = doc.getElementById(id);
  return block ? JSON.parse(block.textContent) : null;
}

/** Fetch ``url`` as a document (the page, with the cookies of this one). */
export async function fetchPage(url) {
  const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store',
    headers: { Accept: 'text/html' } });
  if (!response.ok) throw new Error(`the page could not be loaded again (${response.status})`);
  return new DOMParser().parseFromString(await response.text(), 'text/html');
}

function focusTarget(id, region) {
  let target = id ? document.getElementById(id) : null;
  const fallback = target && target.dataset.fallback;
  if ((!target || target.disabled || target.closest('[hidden]')) && fallback) {
    target = document.getElementById(fallback);
  }
  if (target && !target.disabled && !target.closest('[hidden]')) return target;
  const heading = region && region.closest('section') && region.closest('section').querySelector('h2');
  if (heading) heading.tabIndex = -1;
  return heading;
}

/** Swap in ``fresh``'s regions; returns the names of those that changed. ``keep`` is an
 *  id to focus afterwards (by default the element focused now, if a region holds it). */
export function swapRegions(fresh, { keep = null } = {}) {
  const active = document.activeElement;
  const holder = active && active.closest && active.closest('[data-region]');
  const want = keep || (holder ? active.id : null);
  const changed = [];
  document.querySelectorAll('[data-region]').forEach((region) => {
    const next = fresh.querySelector(`[data-region="${region.dataset.region}"]`);
    if (!next || next.innerHTML === region.innerHTML) return;
    region.replaceChildren(...[...next.childNodes].map((n) => document.importNode(n, true)));
    changed.push(region.dataset.region);
  });
  if ((holder && changed.includes(holder.dataset.region)) || keep) {
    const region = keep ? document.getElementById(keep)?.closest('[data-region]') : holder;
    const target = focusTarget(want, region || holder);
    if (target) target.focus();
  }
  return changed;
}
