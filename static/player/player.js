/* The episode page, enhanced. Without this file the page still works: every chapter and
 * line of the transcript is a link that reloads the page with the audio starting there.
 *
 * - Selecting a chapter or a line seeks the audio there and plays.
 * - While the audio plays, the line being heard is marked (class "current",
 *   aria-current="time") and kept in view inside the transcript's box; so is the
 *   chapter. "Keep the line being heard in view" turns the scrolling off; it starts off
 *   when the browser asks for reduced motion.
 * - The search box keeps the lines with every word typed, marks the words, and says
 *   how many lines match (a status, so screen readers hear it).
 *
 * One state (cues.js: ``step``) changes on events; ``draw`` makes the page show it.
 */
import { initial, marks, readCues, step, summary } from './cues.js';

const audio = document.getElementById('player-audio');
const list = document.getElementById('cues');
const reducedMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

if (audio) start();

function start() {
  const cueLinks = list ? [...list.querySelectorAll('.cue')] : [];
  const cues = readCues(cueLinks.map((a) => ({
    start: a.dataset.start, end: a.dataset.end,
    text: a.querySelector('.cue-text').textContent })));
  const chapterLinks = [...document.querySelectorAll('#chapters .seek')];
  const chapters = readCues(chapterLinks.map((a) => ({ start: a.dataset.start, text: '' })));
  const model = { cues, chapters };
  const searchBox = document.getElementById('transcript-tools');
  const input = document.getElementById('transcript-search');
  const status = document.getElementById('search-status');
  const follow = document.getElementById('follow-audio');

  let state = initial({ follow: !reducedMotion });

  function dispatch(event) {
    const next = step(state, event, model);
    draw(state, next);
    state = next;
  }

  function mark(links, from, to) {
    if (from === to) return;
    const old = links[from];
    if (old) { old.classList.remove('current'); old.removeAttribute('aria-current'); }
    const now = links[to];
    if (now) { now.classList.add('current'); now.setAttribute('aria-current', 'time'); }
  }

  function keepInView(link) {
    // Only the transcript's own box scrolls, never the page under the reader.
    const top = link.offsetTop;
    const bottom = top + link.offsetHeight;
    if (top >= list.scrollTop && bottom <= list.scrollTop + list.clientHeight) return;
    list.scrollTo({ top: Math.max(0, top - list.clientHeight / 3),
                    behavior: reducedMotion ? 'auto' : 'smooth' });
  }

  function drawText(cue, query) {
    const holder = cueLinks[cue.index].querySelector('.cue-text');
    holder.textContent = '';
    for (const part of marks(cue.text, query)) {
      if (!part.match) holder.append(part.text);
      else {
        const m = document.createElement('mark');
        m.textContent = part.text;
        holder.append(m);
      }
    }
  }

  function draw(prev, next) {
    const byCue = (i) => (i < 0 ? -1 : cues[i].index);
    mark(cueLinks, byCue(prev.current), byCue(next.current));
    mark(chapterLinks, prev.chapter < 0 ? -1 : chapters[prev.chapter].index,
         next.chapter < 0 ? -1 : chapters[next.chapter].index);
    if (next.query !== prev.query) {
      const kept = new Set(next.shown ?? cues.map((_, i) => i));
      cues.forEach((cue, i) => {
        cueLinks[cue.index].parentElement.hidden = !kept.has(i);
        if (prev.query || next.query) drawText(cue, next.query);
      });
      status.textContent = summary(kept.size, cues.length, next.query);
    }
    const link = next.current < 0 ? null : cueLinks[byCue(next.current)];
    if (link && next.follow && !audio.paused && !link.parentElement.hidden
        && (next.current !== prev.current || next.follow !== prev.follow)) keepInView(link);
    if (follow) follow.checked = next.follow;
  }

  const time = () => dispatch({ type: 'time', t: audio.currentTime });
  audio.addEventListener('timeupdate', time);
  audio.addEventListener('seeked', time);
  audio.addEventListener('ended', () => dispatch({ type: 'ended' }));

  document.addEventListener('click', (event) => {
    const link = event.target.closest?.('a.seek');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button) return;
    const t = Number.parseFloat(link.dataset.start);
    if (!Number.isFinite(t)) return;
    event.preventDefault();
    audio.currentTime = t;
    time();
    audio.play().catch(() => {});  // a browser may refuse to play: the seek still stands
  });

  if (searchBox && input && status) {
    searchBox.hidden = false;
    input.addEventListener('input', () => dispatch({ type: 'search', query: input.value }));
    if (input.value) dispatch({ type: 'search', query: input.value });  // kept by the browser
  }
  if (follow) {
    follow.checked = state.follow;
    follow.addEventListener('change', () => dispatch({ type: 'follow', on: follow.checked }));
  }
  time();
}
