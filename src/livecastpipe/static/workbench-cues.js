// The cue editor: the session's captions as publishing would make them from the current edits, each cue's
// start and end moved by keyboard (100 ms steps) or by dragging its edges on a level strip of the audio;
// warnings against the package's profile (reading speed, line length, gap) come from the workbench, for the
// cues as saved, while a cue is dragged and while a segment's text is typed; the player carries the edited
// captions as a preview track. The list is one tab stop: ↑/↓ between cues, ←/→ the start, Shift+←/→ the end.
(() => {
  'use strict';
  const bench = window.livecastWorkbench;
  const list = document.getElementById('caption-cues');
  if (!bench || !list) return;
  const player = document.getElementById('player');
  const strip = document.getElementById('levels');
  const canvas = strip.querySelector('canvas');
  const span = strip.querySelector('.span');
  const warnings = document.getElementById('cue-warnings');
  const unplaced = document.getElementById('unplaced');
  const preview = document.getElementById('cue-preview');
  const STEP_S = 0.1;
  const PAD_S = 2;
  const CHECK_AFTER_MS = 400;
  let cues = [];
  let selected = null;
  let levels = null;
  let view = {from: 0, to: 1};
  let checkTimer = null;

  function timestamp(seconds) {
    const millis = Math.round(seconds * 1000);
    const minutes = Math.floor(millis / 60000);
    return `${minutes}:${String(Math.floor(millis / 1000) % 60).padStart(2, '0')}.${String(millis % 1000).padStart(3, '0')}`;
  }

  function cueOf(key) {
    return cues.find((cue) => cue.key === key) || null;
  }

  // --- the list ------------------------------------------------------------------------------------

  function item(cue) {
    const node = document.createElement('li');
    node.className = 'caption-cue' + (cue.moved ? ' moved' : '');
    node.id = `caption-${cue.key}`;
    node.dataset.key = cue.key;
    node.setAttribute('role', 'option');
    node.tabIndex = -1;
    const times = document.createElement('span');
    times.className = 'times';
    times.textContent = `${timestamp(cue.start)} – ${timestamp(cue.end)}${cue.moved ? ' (verschoven)' : ''}`;
    const text = document.createElement('span');
    text.className = 'cue-text';
    text.textContent = cue.text;
    node.append(times, text);
    for (const warning of cue.warnings) {
      const line = document.createElement('span');
      line.className = 'warning';
      line.textContent = `Let op: ${warning}`;
      node.append(line);
    }
    return node;
  }

  function show(data) {
    const focused = list.contains(document.activeElement);
    cues = data.cues;
    list.replaceChildren(...cues.map(item));
    if (!cueOf(selected)) selected = cues.length ? cues[0].key : null;
    select(selected, focused);
    unplaced.hidden = !data.unplaced.length;
    unplaced.textContent = data.unplaced.length ? 'Deze verschoven regels passen niet meer op de ondertitels ' +
      `(de tekst of een nieuwe verwerking veranderde ze); verschuif ze opnieuw: ${data.unplaced.map((u) =>
        `${timestamp(u.start)} – ${timestamp(u.end)}`).join(', ')}.` : '';
  }

  function select(key, focus) {
    selected = key;
    for (const node of list.children) {
      const chosen = node.dataset.key === key;
      node.tabIndex = chosen ? 0 : -1;
      node.setAttribute('aria-selected', String(chosen));
      if (chosen && focus) {
        node.focus();
        node.scrollIntoView({block: 'nearest'});
      }
    }
    drawStrip();
  }

  async function load() {
    const result = await bench.call('GET', bench.api('cues'));
    if (!result.ok) {
      bench.warn(`De ondertitelregels konden niet worden geladen: ${result.body.error}`);
      return;
    }
    show(result.body);
  }

  // Saves a cue's new start and end (through the workbench's queue, based on the version then).
  function move(key, start, end) {
    const cue = cueOf(key);
    if (!cue) return Promise.resolve(false);
    cue.start = start;
    cue.end = end;
    return bench.enqueue(async () => {
      const result = await bench.call('POST', bench.api(`cues/${encodeURIComponent(key)}`),
        {start, end, version: bench.version()});
      if (!result.ok) {
        if (result.status === 409) bench.conflict(result.body, null);
        else bench.warn(`Niet verschoven: ${result.body.error}`);
        await load();
        return false;
      }
      bench.setVersion(result.body.version);
      show(result.body.captions);
      reloadTrack();
      const saved = cueOf(key);
      const said = saved && saved.warnings.length ? ` Let op: ${saved.warnings.join('; ')}.` : '';
      bench.say(`Regel verschoven: ${timestamp(start)} – ${timestamp(end)}.${said}`);
      return true;
    });
  }

  list.addEventListener('keydown', (event) => {
    const node = event.target.closest('.caption-cue');
    if (!node || event.altKey || event.ctrlKey || event.metaKey) return;
    const at = cues.findIndex((cue) => cue.key === node.dataset.key);
    const cue = cues[at];
    if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
      const next = cues[at + (event.key === 'ArrowUp' ? -1 : 1)];
      if (next) select(next.key, true);
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      const step = event.key === 'ArrowLeft' ? -STEP_S : STEP_S;
      const start = event.shiftKey ? cue.start : Math.round((cue.start + step) * 1000) / 1000;
      const end = event.shiftKey ? Math.round((cue.end + step) * 1000) / 1000 : cue.end;
      move(cue.key, start, end);
      drawStrip();
    } else if (event.key === 'Enter') {
      player.currentTime = cue.start;
      player.play().catch(() => undefined);
    } else {
      return;
    }
    event.preventDefault();
  });
  list.addEventListener('click', (event) => {
    const node = event.target.closest('.caption-cue');
    if (node) select(node.dataset.key, true);
  });

  // --- the level strip -----------------------------------------------------------------------------

  function drawStrip() {
    const cue = cueOf(selected);
    const context = canvas.getContext('2d');
    const width = canvas.width = Math.max(1, Math.round(canvas.clientWidth * devicePixelRatio));
    const height = canvas.height = Math.max(1, Math.round(canvas.clientHeight * devicePixelRatio));
    context.clearRect(0, 0, width, height);
    span.hidden = !cue;
    if (!cue) return;
    view = {from: Math.max(0, cue.start - PAD_S), to: cue.end + PAD_S};
    const scale = width / (view.to - view.from);
    if (levels) {
      context.fillStyle = getComputedStyle(strip).color;
      const first = Math.floor(view.from / levels.step);
      const last = Math.min(levels.peaks.length, Math.ceil(view.to / levels.step));
      for (let i = first; i < last; i++) {
        const bar = (levels.peaks[i] / 255) * height;
        context.fillRect((i * levels.step - view.from) * scale, (height - bar) / 2, Math.max(1, levels.step * scale - 1), bar);
      }
    }
    placeSpan(cue.start, cue.end);
  }

  function placeSpan(start, end) {
    const length = view.to - view.from;
    span.style.left = `${((start - view.from) / length) * 100}%`;
    span.style.width = `${((end - start) / length) * 100}%`;
  }

  function timeAt(clientX) {
    const box = strip.getBoundingClientRect();
    return view.from + ((clientX - box.left) / box.width) * (view.to - view.from);
  }

  // Dragging an edge: the cue's span follows, the warnings of where it would be come from the workbench;
  // letting go saves it.
  let drag = null;
  strip.addEventListener('pointerdown', (event) => {
    const handle = event.target.closest('.handle');
    const cue = cueOf(selected);
    if (!handle || !cue) return;
    event.preventDefault();
    strip.setPointerCapture(event.pointerId);
    drag = {key: cue.key, edge: handle.classList.contains('start') ? 'start' : 'end', start: cue.start, end: cue.end};
  });
  strip.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const at = Math.max(0, Math.round(timeAt(event.clientX) * 1000) / 1000);
    if (drag.edge === 'start') drag.start = Math.min(at, drag.end - 0.1);
    else drag.end = Math.max(at, drag.start + 0.1);
    placeSpan(drag.start, drag.end);
    checkSoon({cue: drag.key, start: drag.start, end: drag.end});
  });
  strip.addEventListener('pointerup', () => {
    if (!drag) return;
    const done = drag;
    drag = null;
    move(done.key, done.start, done.end);
  });

  async function loadLevels() {
    const result = await bench.call('GET', bench.api('levels'));
    if (result.ok) {
      levels = result.body;
      drawStrip();
    }
  }
  new ResizeObserver(drawStrip).observe(strip);

  // --- warnings while typing or dragging -----------------------------------------------------------

  function checkSoon(data) {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(() => check(data), CHECK_AFTER_MS);
  }

  async function check(data) {
    const result = await bench.call('POST', bench.api('cues/check'), data);
    if (!result.ok) return;
    const found = result.body.cues.filter((cue) => cue.warnings.length)
      .map((cue) => `${timestamp(cue.start)}: ${cue.warnings.join('; ')}`);
    warnings.textContent = found.length ? `Ondertitels bij deze ${data.segment ? 'tekst' : 'tijden'}: ${found.join(' · ')}` : '';
  }

  const segments = document.querySelector('.segments');
  if (segments) {
    segments.addEventListener('input', (event) => {
      const text = event.target.closest('.text');
      const segment = text && text.closest('.segment');
      const typed = text ? text.textContent.replace(/\s+/g, ' ').trim() : '';
      if (segment && typed) checkSoon({segment: segment.dataset.id, text: typed});
    });
  }

  // --- the preview track ---------------------------------------------------------------------------

  function showPreview(track) {
    const active = track.track.activeCues;
    preview.textContent = active && active.length ? [...active].map((cue) => cue.text.replace(/<[^>]*>/g, '')).join('\n') : '';
  }

  // The preview track made again from the edits now; on a video it is shown instead of the published one.
  function reloadTrack() {
    const old = document.getElementById('preview-track');
    const track = document.createElement('track');
    for (const name of ['kind', 'srclang', 'label']) track.setAttribute(name, old.getAttribute(name));
    track.id = 'preview-track';
    track.src = `${bench.api('captions.vtt')}?v=${bench.version()}`;
    old.replaceWith(track);
    useTrack(track);
  }

  function useTrack(track) {
    for (const other of player.textTracks) if (other !== track.track && player.tagName === 'VIDEO') other.mode = 'disabled';
    track.track.mode = player.tagName === 'VIDEO' ? 'showing' : 'hidden';
    track.addEventListener('cuechange', () => showPreview(track));
  }

  document.addEventListener('livecast-changed', () => {
    load().then(reloadTrack);
  });
  useTrack(document.getElementById('preview-track'));
  load();
  loadLevels();
})();
