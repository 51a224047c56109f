// The editor's workbench: plays the recording beside the transcript, saves each correction through the
// workbench's JSON API (with the version it was based on), and gives every action a key that works while
// typing. The keys come from the help panel's table, so what it lists is what works.
(() => {
  'use strict';
  const body = document.body;
  const slug = body.dataset.slug;
  if (!slug) return;
  const token = document.querySelector('meta[name="livecast-token"]').content;
  const player = document.getElementById('player');
  const list = document.querySelector('.segments');
  const statusLine = document.getElementById('status');
  const alertBox = document.getElementById('alert');
  const followButton = document.getElementById('follow');
  const RESUME_BEFORE_S = 1.5;
  const SKIP_S = 5;
  const RATES = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
  let version = Number(body.dataset.version);
  let currentSegment = null;
  let pausedAt = null;
  let follow = true;
  let autoScrollTop = -1;
  let words = null;
  let currentWord = null;
  let queue = Promise.resolve();

  // --- messages and the API ---------------------------------------------------------------------

  // The messages bar sticks to the top; the recording beside the transcript sticks just below it, never under it.
  const messages = document.querySelector('.messages');
  new ResizeObserver(() => body.style.setProperty('--messages-height', `${messages.offsetHeight}px`)).observe(messages);

  function say(text) {
    alertBox.textContent = '';
    statusLine.textContent = text;
  }

  function warn(text) {
    statusLine.textContent = '';
    alertBox.textContent = text;
  }

  async function call(method, path, data) {
    let response;
    try {
      response = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-Livecast-Token': token},
        body: data === undefined ? undefined : JSON.stringify(data),
      });
    } catch (error) {
      return {ok: false, status: 0, body: {error: 'de werkbank antwoordt niet (is `livecast edit` gestopt?)'}};
    }
    let result = {};
    try {
      result = await response.json();
    } catch (error) {
      result = {error: `antwoord ${response.status} zonder JSON`};
    }
    return {ok: response.ok, status: response.status, body: result};
  }

  // One request at a time, in the order they were made: each change is based on the version the
  // previous one produced.
  function enqueue(task) {
    const next = queue.then(task);
    queue = next.catch(() => undefined);
    return next;
  }

  function api(path) {
    return `/api/sessions/${encodeURIComponent(slug)}/${path}`;
  }

  function change(path, data, done, mine) {
    return enqueue(async () => {
      const result = await call('POST', api(path) + '?html=1', {...data, version});
      if (result.ok) {
        apply(result.body);
        say(done);
        return true;
      }
      if (result.status === 409) {
        conflict(result.body, mine);
      } else {
        warn(`Niet opgeslagen: ${result.body.error || 'fout ' + result.status}`);
      }
      return false;
    });
  }

  function conflict(answer, mine) {
    if (typeof answer.version === 'number') version = answer.version;
    let latest = '';
    if (answer.segment) {
      place(answer.segment, null);
      latest = ` De nieuwste tekst van dit segment staat er nu: “${answer.segment.text}”.`;
    }
    const yours = mine ? ` Uw tekst was: “${mine}” (kopieer hem als u hem wilt houden).` : '';
    warn(`Niet opgeslagen: iemand anders heeft deze sessie intussen gewijzigd (${answer.error}).${latest}${yours} ` +
      'Laad de pagina opnieuw om alle wijzigingen te zien.');
  }

  // The cue editor (workbench-cues.js) saves through the same queue, with the same version.
  window.livecastWorkbench = {call, api, enqueue, say, warn, conflict, version: () => version,
    setVersion: (value) => { version = value; }};

  // --- the segments on the page -----------------------------------------------------------------

  function fragment(html) {
    const template = document.createElement('template');
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function segmentNode(id) {
    return document.getElementById('seg-' + id);
  }

  function place(segment, order) {
    const node = fragment(segment.html);
    const old = segmentNode(segment.id);
    if (old) {
      old.replaceWith(node);
      return node;
    }
    let next = null;
    if (order) {
      for (let i = order.indexOf(segment.id) + 1; i < order.length && !next; i++) next = segmentNode(order[i]);
    }
    list.insertBefore(node, next);
    return node;
  }

  function apply(result) {
    // The control that has the focus may be replaced: the same control of the new segment gets it back.
    const active = document.activeElement;
    const segment = active && active.closest ? active.closest('.segment') : null;
    const control = !segment ? null
      : active.classList.contains('text') ? '.text'
        : active.matches('select.speaker') ? 'select.speaker' : '.play';
    const offset = control === '.text' ? caretOffset(active) : null;
    version = result.version;
    document.dispatchEvent(new CustomEvent('livecast-changed', {detail: result}));  // the cues follow (workbench-cues.js)
    const placed = result.segments.map((changed) => place(changed, result.order || null));
    for (const id of result.removed || []) {
      const node = segmentNode(id);
      if (node) node.remove();
    }
    words = null;
    if (result.speakers) refreshSpeakers(result.speakers);
    const count = document.getElementById('flag-count');
    if (count && typeof result.flagged === 'number') count.textContent = String(result.flagged);
    if (segment && !active.isConnected) {
      const target = segmentNode(segment.dataset.id) || placed[0];
      const element = target ? target.querySelector(control) : null;
      if (element) {
        element.focus();
        if (offset !== null && target.dataset.id === segment.dataset.id) setCaret(element, offset);
      }
    }
  }

  function refreshSpeakers(speakers) {
    const known = JSON.stringify(speakers);
    if (known === body.dataset.speakers) return;
    body.dataset.speakers = known;
    const selects = document.querySelectorAll('select.speaker, #speaker-choice, #merge-source, #merge-target');
    for (const select of selects) {
      const value = select.value;
      const unknown = select.querySelector('option[value=""]');
      select.replaceChildren(...(unknown ? [unknown] : []), ...speakers.map((s) => new Option(s.label, s.id)));
      select.value = value;
    }
  }

  function textOf(element) {
    return element.textContent.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();
  }

  // Saves a segment's text when it changed; `confirm` (Enter) saves it unchanged too: its words are then
  // checked, and no longer highlighted.
  function save(element, confirm) {
    const text = textOf(element);
    if (element.closest('.cue')) return saveCue(element);
    if (text === element.dataset.text && !(confirm && element.querySelector('mark.flag'))) return Promise.resolve(true);
    const before = element.dataset.text;
    element.dataset.saving = '';  // until the workbench answers, the text's draft is kept (workbench-drafts.js)
    element.dataset.text = text;
    const id = element.closest('.segment').dataset.id;
    return change(`segments/${encodeURIComponent(id)}`, {text}, 'Opgeslagen.', text).then((saved) => {
      if (!saved && element.isConnected && element.dataset.text === text) element.dataset.text = before;
      delete element.dataset.saving;
      return saved;
    });
  }

  // Saves an English cue's corrected text (the machine translation's cue named by its start) when it changed.
  function saveCue(element) {
    const text = textOf(element);
    if (text === element.dataset.text) return Promise.resolve(true);
    const before = element.dataset.text;
    element.dataset.saving = '';  // until the workbench answers, the text's draft is kept (workbench-drafts.js)
    element.dataset.text = text;
    const cue = element.closest('.cue');
    return change(`translation/${encodeURIComponent(cue.dataset.start)}`, {text}, 'Engelse regel opgeslagen.', text)
      .then((saved) => {
        if (saved) cue.classList.add('edited');
        else if (element.isConnected && element.dataset.text === text) element.dataset.text = before;
        delete element.dataset.saving;
        return saved;
      });
  }

  function saveFocused() {
    const active = document.activeElement;
    return active && active.classList.contains('text') ? save(active) : Promise.resolve(true);
  }

  function caretOffset(element) {
    const selection = getSelection();
    if (!selection.rangeCount || !element.contains(selection.getRangeAt(0).startContainer)) return null;
    const range = selection.getRangeAt(0);
    const before = document.createRange();
    before.selectNodeContents(element);
    before.setEnd(range.startContainer, range.startOffset);
    return before.toString().length;
  }

  function setCaret(element, offset) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    let left = offset;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (left <= node.length) {
        getSelection().collapse(node, left);
        return;
      }
      left -= node.length;
    }
    getSelection().selectAllChildren(element);
    getSelection().collapseToEnd();
  }

  // The index of the word at `offset` characters into `text` (the word the caret is in or before).
  function wordIndexAt(text, offset) {
    const before = text.slice(0, offset);
    const count = (before.match(/\S+/g) || []).length;
    const inWord = /\S$/.test(before) && /^\S/.test(text.slice(offset));
    return inWord ? count - 1 : count;
  }

  function focusedSegment() {
    const active = document.activeElement;
    const segment = active && active.closest ? active.closest('.segment') : null;
    return segment || currentSegment;
  }

  function caretWord(segment) {
    const text = segment.querySelector('.text');
    const offset = caretOffset(text);
    return offset === null ? null : wordIndexAt(text.textContent.replace(/\u00a0/g, ' '), offset);
  }

  // --- playback ---------------------------------------------------------------------------------

  function play(at) {
    if (typeof at === 'number') {
      player.currentTime = Math.max(0, at);
      follow = true;  // playing from a chosen moment: follow it from where the page is now
      followButton.hidden = true;
      autoScrollTop = window.scrollY;
    }
    const started = player.play();
    if (started) {
      started.catch((error) => {
        // A pause right after playing interrupts it (AbortError): that is no failure.
        if (error.name !== 'AbortError') warn(`De opname kan niet worden afgespeeld (${error.message}).`);
      });
    }
  }

  function playPause() {
    if (player.paused) {
      const at = pausedAt;
      pausedAt = null;
      play(at !== null && Math.abs(player.currentTime - at) < 0.05 ? at - RESUME_BEFORE_S : undefined);
    } else {
      player.pause();
      pausedAt = player.currentTime;  // now, not on the later pause event: a quick second press resumes from here
    }
  }

  function seekBy(seconds) {
    player.currentTime = Math.min(Math.max(0, player.currentTime + seconds), player.duration || Infinity);
  }

  function setRate(step) {
    const index = RATES.indexOf(player.playbackRate);
    const next = RATES[Math.min(RATES.length - 1, Math.max(0, (index < 0 ? 2 : index) + step))];
    player.playbackRate = next;
    document.getElementById('rate').textContent = String(next).replace('.', ',');
    say(`Snelheid ${String(next).replace('.', ',')}×`);
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
  }

  function parseClock(text) {
    const parts = text.trim().split(':').map(Number);
    if (!parts.length || parts.some((p) => Number.isNaN(p) || p < 0)) return null;
    return parts.reduce((total, part) => total * 60 + part, 0);
  }

  function allWords() {
    if (!words) words = [...list.querySelectorAll('.w')];
    return words;
  }

  function wordAt(time) {
    const all = allWords();
    let low = 0;
    let high = all.length - 1;
    let found = null;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (Number(all[middle].dataset.start) <= time) {
        found = all[middle];
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  function typing() {
    const active = document.activeElement;
    return active && active.classList.contains('text');
  }

  function inView(node) {
    const box = node.getBoundingClientRect();
    return box.top >= innerHeight * 0.15 && box.bottom <= innerHeight * 0.85;
  }

  function scrollToWord(word) {
    word.scrollIntoView({block: 'center'});
    autoScrollTop = window.scrollY;  // an instant scroll: its position is known at once
  }

  function showCurrentWord() {
    document.getElementById('position').textContent = clock(player.currentTime);
    const word = wordAt(player.currentTime + 0.05);
    if (word === currentWord) return;
    if (currentWord) currentWord.classList.remove('current');
    currentWord = word;
    if (!word) return;
    word.classList.add('current');
    if (follow && !player.paused && !typing() && !inView(word)) scrollToWord(word);
  }

  function backToCurrentWord() {
    follow = true;
    followButton.hidden = true;
    const word = currentWord || wordAt(player.currentTime);
    if (!word) return;
    scrollToWord(word);
    const text = word.closest('.text');
    text.focus({preventScroll: true});
    const range = document.createRange();
    range.setStart(word, 0);
    range.collapse(true);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }

  window.addEventListener('scroll', () => {
    if (Math.abs(window.scrollY - autoScrollTop) < 2 || player.paused || !follow) return;
    follow = false;
    followButton.hidden = false;
  }, {passive: true});

  player.addEventListener('timeupdate', showCurrentWord);
  player.addEventListener('seeked', showCurrentWord);
  player.addEventListener('pause', () => {
    pausedAt = player.currentTime;
  });

  // --- flagged words ----------------------------------------------------------------------------

  function flagged(step) {
    const marks = [...list.querySelectorAll('mark.flag')];
    if (!marks.length) {
      say('Er zijn geen woorden meer om na te kijken.');
      return;
    }
    const selection = getSelection();
    const anchor = selection.rangeCount && list.contains(selection.anchorNode) ? selection.getRangeAt(0) : null;
    let target = null;
    if (anchor) {
      const ordered = step > 0 ? marks : [...marks].reverse();
      target = ordered.find((mark) => {
        const position = anchor.compareBoundaryPoints(Range.START_TO_START, rangeOf(mark));
        return step > 0 ? position < 0 : position > 0;
      }) || null;
    }
    if (!target) target = step > 0 ? marks[0] : marks[marks.length - 1];
    const text = target.closest('.text');
    text.focus({preventScroll: true});
    selection.removeAllRanges();
    selection.addRange(rangeOf(target));
    scrollToWord(target);
    const start = Number(target.dataset.start);
    say(`Nakijken: “${target.textContent}” om ${clock(start)} (${target.title.replace('Nakijken: ', '')}).`);
    play(start - 1);
  }

  // Replaces the selected flagged word (or the one at the caret) by the alternative shown beside it and saves
  // the segment like any typed text (with history, so Alt+Z undoes it).
  function acceptAlternative() {
    const selection = getSelection();
    const node = selection.rangeCount ? selection.anchorNode : null;
    const element = node && node.nodeType !== Node.ELEMENT_NODE ? node.parentElement : node;
    const mark = element && list.contains(element) ? element.closest('mark.flag[data-alternative]') : null;
    if (!mark) {
      say('Selecteer eerst een woord om na te kijken dat een voorstel heeft (Alt+N).');
      return;
    }
    const alternative = mark.dataset.alternative;
    const text = mark.closest('.text');
    mark.replaceWith(document.createTextNode(alternative));
    save(text).then((saved) => {
      if (saved) say(`Voorstel “${alternative}” overgenomen en opgeslagen.`);
    });
  }

  function rangeOf(node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    return range;
  }

  // --- commands ---------------------------------------------------------------------------------

  function segmentCommand(run) {
    const segment = focusedSegment();
    if (!segment) {
      say('Zet eerst de cursor in een segment.');
      return;
    }
    const word = caretWord(segment);
    const selection = getSelection();
    let last = null;
    if (selection.rangeCount && !selection.isCollapsed && segment.contains(selection.focusNode)) {
      const text = segment.querySelector('.text');
      const range = selection.getRangeAt(0);
      const end = document.createRange();
      end.selectNodeContents(text);
      end.setEnd(range.endContainer, range.endOffset);
      const upTo = end.toString().replace(/\u00a0/g, ' ');
      last = (upTo.match(/\S+/g) || []).length;
    }
    saveFocused().then(() => run(segment.dataset.id, word, last));
  }

  function openDialog(id) {
    const dialog = document.getElementById(id);
    if (!dialog.open) dialog.showModal();
  }

  const commands = {
    play: playPause,
    back: () => seekBy(-SKIP_S),
    forward: () => seekBy(SKIP_S),
    slower: () => setRate(-1),
    faster: () => setRate(1),
    replay: () => {
      const segment = focusedSegment();
      if (segment) play(Number(segment.dataset.start));
    },
    'next-flag': () => flagged(1),
    'previous-flag': () => flagged(-1),
    'accept-alternative': acceptAlternative,
    split: () => segmentCommand((id, word) => {
      const count = (segmentNode(id).querySelector('.text').dataset.text.match(/\S+/g) || []).length;
      if (word === null || word <= 0 || word >= count) {
        say('Zet de cursor tussen twee woorden om het segment daar te splitsen.');
        return;
      }
      change(`segments/${encodeURIComponent(id)}/split`, {word}, 'Het segment is gesplitst.');
    }),
    'merge-previous': () => segmentCommand((id) =>
      change(`segments/${encodeURIComponent(id)}/merge`, {direction: 'previous'}, 'Samengevoegd met het vorige segment.')),
    'merge-next': () => segmentCommand((id) =>
      change(`segments/${encodeURIComponent(id)}/merge`, {direction: 'next'}, 'Samengevoegd met het volgende segment.')),
    inaudible: () => segmentCommand((id, word, last) => {
      const part = last !== null && word !== null ? {from_word: word, to_word: Math.max(last, word + 1)} : {};
      change(`segments/${encodeURIComponent(id)}/inaudible`, part, 'Gemarkeerd als [onverstaanbaar].');
    }),
    revert: () => segmentCommand((id) =>
      change(`segments/${encodeURIComponent(id)}/revert`, {}, 'De tekst van de machine staat er weer.')),
    speaker: () => {
      const segment = focusedSegment();
      if (!segment) {
        say('Zet eerst de cursor in een segment.');
        return;
      }
      currentSegment = segment;
      const word = caretWord(segment) || 0;
      const spoken = (segment.querySelector('.text').dataset.text.match(/\S+/g) || [])[word] || '';
      const from = document.getElementById('part-from');
      from.disabled = word <= 0;
      from.dataset.word = String(word);
      document.getElementById('part-from-label').textContent =
        word > 0 ? `Vanaf het woord “${spoken}” (de rest van het segment)` : 'Vanaf een woord (zet de cursor eerst in het segment)';
      document.getElementById(word > 0 ? 'part-from' : 'part-all').checked = true;
      document.getElementById('speaker-choice').value = segment.querySelector('select.speaker').value;
      openDialog('speaker-dialog');
    },
    undo: () => saveFocused().then(() => change('undo', {}, 'Ongedaan gemaakt.')),
    redo: () => saveFocused().then(() => change('redo', {}, 'Opnieuw gedaan.')),
    find: () => openDialog('find-dialog'),
    current: backToCurrentWord,
    help: () => openDialog('help-dialog'),
  };

  const keymap = [...document.querySelectorAll('#help-dialog tr[data-action]')].map((row) => ({
    action: row.dataset.action,
    code: row.dataset.code,
    alt: row.dataset.alt === '1',
    shift: row.dataset.shift === '1',
  }));

  document.addEventListener('keydown', (event) => {
    const target = event.target;
    if (event.key === 'Enter' && target.classList && target.classList.contains('text')) {
      if (!event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        save(target, true);
        return;
      }
    }
    const key = keymap.find((k) => k.code === event.code && k.alt === event.altKey && k.shift === event.shiftKey);
    if (!key || event.ctrlKey || event.metaKey) return;
    const dialog = document.querySelector('dialog[open]');
    if (dialog && (key.code === 'Escape' || !['play', 'back', 'forward', 'slower', 'faster'].includes(key.action))) return;
    event.preventDefault();
    commands[key.action]();
  }, true);

  list.addEventListener('focusin', (event) => {
    const segment = event.target.closest('.segment');
    if (segment) currentSegment = segment;
  });
  list.addEventListener('focusout', (event) => {
    if (event.target.classList.contains('text') && event.target.isConnected) save(event.target);
  });
  const cues = document.querySelector('.cues');
  if (cues) {
    cues.addEventListener('focusout', (event) => {
      if (event.target.classList.contains('text') && event.target.isConnected) saveCue(event.target);
    });
    cues.addEventListener('paste', (event) => {
      if (!event.target.closest('.text')) return;
      event.preventDefault();  // plain text only, as in the segments
      document.execCommand('insertText', false, (event.clipboardData.getData('text/plain') || '').replace(/\s+/g, ' '));
    });
  }
  list.addEventListener('paste', (event) => {
    if (!event.target.closest('.text')) return;
    event.preventDefault();  // plain text only: no markup into a segment
    const text = (event.clipboardData.getData('text/plain') || '').replace(/\s+/g, ' ');
    document.execCommand('insertText', false, text);
  });
  list.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const segment = event.target.closest('.segment');
    if (!segment) return;
    if (button && button.classList.contains('play')) play(Number(segment.dataset.start));
    if (button && button.classList.contains('resolve')) {
      const keep = button.dataset.keep === 'true';
      change(`segments/${encodeURIComponent(segment.dataset.id)}/resolve`, {keep},
        keep ? 'Uw tekst blijft staan.' : 'De nieuwe tekst van de machine staat er nu.');
    }
    const word = event.target.closest('.w');
    if (word && (event.ctrlKey || event.metaKey)) play(Number(word.dataset.start));
  });
  list.addEventListener('change', (event) => {
    if (!event.target.classList.contains('speaker')) return;
    const segment = event.target.closest('.segment');
    const label = event.target.selectedOptions[0].textContent;
    change(`segments/${encodeURIComponent(segment.dataset.id)}`, {speaker: event.target.value},
      `Het segment is nu van ${label}.`);
  });

  for (const button of document.querySelectorAll('[data-command]')) {
    button.addEventListener('mousedown', (event) => event.preventDefault());  // keep the caret where it is
    button.addEventListener('click', () => commands[button.dataset.command]());
  }
  for (const button of document.querySelectorAll('[data-open]')) {
    button.addEventListener('click', () => openDialog(button.dataset.open));
  }

  // --- dialogs ----------------------------------------------------------------------------------

  document.getElementById('speaker-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const segment = currentSegment;
    const speaker = document.getElementById('speaker-choice');
    const from = document.getElementById('part-from');
    const fromWord = from.checked ? Number(from.dataset.word) : 0;
    document.getElementById('speaker-dialog').close();
    const label = speaker.selectedOptions[0].textContent;
    change(`segments/${encodeURIComponent(segment.dataset.id)}`, {speaker: speaker.value, from_word: fromWord},
      fromWord ? `De rest van het segment is nu van ${label}.` : `Het segment is nu van ${label}.`)
      .then(() => {
        const node = segmentNode(segment.dataset.id);
        if (node) node.querySelector('.text').focus();
      });
  });

  const findForm = document.getElementById('find-form');
  function findRequest(preview) {
    return {
      find: document.getElementById('find-text').value,
      replace: document.getElementById('replace-text').value,
      whole_word: document.getElementById('whole-word').checked,
      case_sensitive: document.getElementById('case-sensitive').checked,
      preview,
    };
  }
  findForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    await saveFocused();
    const result = await call('POST', api('replace'), findRequest(true));
    const summary = document.getElementById('find-summary');
    const preview = document.getElementById('find-preview');
    preview.replaceChildren();
    if (!result.ok) {
      summary.textContent = result.body.error;
      return;
    }
    const matches = result.body.matches;
    summary.textContent = matches.length ? `${matches.length} segmenten veranderen:` : 'Niets gevonden.';
    for (const match of matches) {
      const item = document.createElement('li');
      const jump = document.createElement('button');
      jump.type = 'button';
      jump.textContent = clock(match.start);
      jump.setAttribute('aria-label', `Naar het segment om ${clock(match.start)}`);
      jump.addEventListener('click', () => {
        document.getElementById('find-dialog').close();
        const node = segmentNode(match.segment);
        node.scrollIntoView({block: 'center'});
        node.querySelector('.text').focus({preventScroll: true});
      });
      const before = document.createElement('del');
      before.textContent = match.before;
      const after = document.createElement('ins');
      after.textContent = match.after;
      item.append(jump, ' ', before, ' → ', after);
      preview.append(item);
    }
  });
  document.getElementById('replace-all').addEventListener('click', () => {
    const data = findRequest(false);
    if (!data.find) {
      document.getElementById('find-summary').textContent = 'Vul in wat u zoekt.';
      return;
    }
    change('replace', data, 'Vervangen.').then((done) => {
      if (done) {
        document.getElementById('find-summary').textContent = 'Alles is vervangen.';
        document.getElementById('find-preview').replaceChildren();
      }
    });
  });

  // Each speaker's entry carries the version its name and role were read at; a change sends it, so one
  // made meanwhile elsewhere (another tab, `livecast speakers`) is not overwritten.
  function speakerVersions(speakers) {
    for (const speaker of speakers) {
      const entry = document.querySelector(`.speakers [data-speaker="${CSS.escape(speaker.id)}"]`);
      if (entry) entry.dataset.version = speaker.version;
    }
  }
  for (const form of document.querySelectorAll('form.speaker-details')) {
    const id = form.closest('[data-speaker]').dataset.speaker;
    const proposal = form.querySelector('.use-proposal');
    if (proposal) proposal.addEventListener('click', () => {
      form.elements.name.value = proposal.dataset.name;
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const entry = form.closest('[data-speaker]');
      const data = {role: form.elements.role.value, version: entry.dataset.version};
      if (form.elements.name.value.trim()) data.name = form.elements.name.value.trim();
      const result = await enqueue(() => call('PUT', api(`speakers/${encodeURIComponent(id)}`), data));
      if (result.body.speakers) speakerVersions(result.body.speakers);
      if (!result.ok) {
        warn(`Niet opgeslagen: ${result.body.error}`);
        return;
      }
      refreshSpeakers(result.body.speakers);
      const shown = result.body.speakers.find((s) => s.id === id);
      form.closest('li').querySelector('h3').firstChild.textContent = shown.label + ' ';
      say(`Spreker opgeslagen: ${shown.label}.`);
    });
  }
  function reloadSaying(message) {
    sessionStorage.setItem('livecast-message', message);
    location.reload();
  }
  document.getElementById('merge-speakers').addEventListener('submit', (event) => {
    event.preventDefault();
    const source = document.getElementById('merge-source').value;
    const target = document.getElementById('merge-target').value;
    if (source === target) {
      warn('Kies twee verschillende sprekers.');
      return;
    }
    change('speakers/merge', {source, target}, 'Sprekers samengevoegd.').then((done) => {
      if (done) reloadSaying('De sprekers zijn samengevoegd.');
    });
  });
  document.getElementById('add-speaker').addEventListener('click', () => {
    change('speakers', {}, 'Spreker toegevoegd.').then((done) => {
      if (done) reloadSaying('Er is een spreker toegevoegd; geef hem hieronder een naam.');
    });
  });

  for (const form of document.querySelectorAll('form.chapter')) {
    const title = form.elements.title;
    const start = form.elements.start;
    const original = {title: title.value, start: start.value};
    form.querySelector('.use-position').addEventListener('click', () => {
      const tenths = Math.round(player.currentTime * 10);
      start.value = clock(Math.floor(tenths / 10)) + (tenths % 10 ? `.${tenths % 10}` : '');
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = {};
      if (!title.disabled && title.value.trim() && title.value !== original.title) data.title = title.value.trim();
      if (start.value !== original.start) {
        const seconds = parseClock(start.value);
        if (seconds === null) {
          warn('Schrijf de begintijd als m:ss of u:mm:ss (met tienden: 1:05.5).');
          return;
        }
        data.start = seconds;
      }
      if (!Object.keys(data).length) {
        say('Niets veranderd.');
        return;
      }
      enqueue(async () => {
        if (data.title !== undefined && form.dataset.titleVersion) data.title_version = form.dataset.titleVersion;
        const result = await call('POST', api(`chapters/${form.dataset.number}`), {...data, version});
        if (!result.ok) {
          if (result.status === 409) conflict(result.body, null);
          else warn(`Niet opgeslagen: ${result.body.error}`);
          return;
        }
        if (typeof result.body.version === 'number') version = result.body.version;
        const saved = (result.body.chapters || []).find((c) => String(c.number) === form.dataset.number);
        if (saved && saved.title_version) form.dataset.titleVersion = saved.title_version;
        original.title = title.value;
        original.start = start.value;
        form.querySelector('.state').textContent = data.title ? 'goedgekeurd' : form.querySelector('.state').textContent;
        say(`Hoofdstuk ${form.dataset.number} opgeslagen.`);
      });
    });
  }

  const states = {approved: 'Goedgekeurd', rejected: 'Afgewezen', draft: 'Nog niet nagekeken'};
  for (const item of document.querySelectorAll('.review > li')) {
    for (const button of item.querySelectorAll('[data-decision]')) {
      button.addEventListener('click', async () => {
        const decision = button.dataset.decision;
        const data = {decision, version: item.dataset.version};
        if (decision === 'approve') data.text = item.querySelector('textarea').value;
        const result = await enqueue(() => call('POST', api(`review/${item.dataset.key}`), data));
        if (!result.ok) {
          if (result.status === 409 && result.body.item) {  // decided elsewhere meanwhile: show it as it is now
            item.dataset.version = result.body.item.version;
            item.querySelector('.state').textContent = states[result.body.item.state];
            warn(`Niet opgeslagen: ${result.body.error}. Nu: ${states[result.body.item.state].toLowerCase()}, ` +
              `“${result.body.item.text}”.`);
          } else warn(`Niet opgeslagen: ${result.body.error}`);
          return;
        }
        item.dataset.version = result.body.item.version;
        item.querySelector('.state').textContent = states[result.body.item.state];
        say(`${item.querySelector('h3').textContent}: ${states[result.body.item.state].toLowerCase()}.`);
      });
    }
  }
  for (const button of document.querySelectorAll('.sources .seek')) {
    button.addEventListener('click', () => play(Number(button.dataset.start)));
  }

  document.getElementById('approve-captions').addEventListener('click', async () => {
    await saveFocused();
    const result = await enqueue(() => call('POST', api('review/session/captions'), {decision: 'approve'}));
    if (!result.ok) {
      warn(`Niet goedgekeurd: ${result.body.error}`);
      return;
    }
    document.getElementById('captions-state').textContent =
      result.body.captions_reviewed ? 'De ondertiteling is nagekeken.' : 'De ondertiteling is nog niet nagekeken.';
    say('De ondertiteling is goedgekeurd. Publiceer om het label “niet nagekeken” te laten verdwijnen.');
  });

  const publishButton = document.getElementById('publish');
  publishButton.addEventListener('click', async () => {
    await saveFocused();
    publishButton.disabled = true;
    say('Bezig met publiceren…');
    const result = await enqueue(() => call('POST', api('publish')));
    publishButton.disabled = false;
    if (!result.ok) {
      warn(`Niet gepubliceerd: ${result.body.error}`);
      return;
    }
    say(`Gepubliceerd (${new Date(result.body.at).toLocaleTimeString('nl-NL')}).`);
    const link = document.createElement('a');
    link.href = result.body.page;
    link.target = '_blank';
    link.rel = 'noopener';
    link.textContent = 'Bekijk de gepubliceerde pagina';
    statusLine.append(' ', link);
  });

  const message = sessionStorage.getItem('livecast-message');
  if (message) {
    sessionStorage.removeItem('livecast-message');
    say(message);
  }
})();
