// Unsaved segment (and English cue) texts survive a closed tab: each text typed is kept as a draft in this browser
// (localStorage) until the workbench has saved it, put back when the session is opened again, and
// closing or leaving the page with a draft left asks first (`beforeunload`).
(() => {
  'use strict';
  const slug = document.body.dataset.slug;
  const lists = [...document.querySelectorAll('.segments, .cues')];
  if (!slug || !lists.length) return;
  const prefix = `livecast.draft.${slug}.`;

  function textOf(element) {
    return element.textContent.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();
  }

  // The drafts of this session: [element id of the segment or cue, {text, base}] where base is the saved
  // text it was typed over.
  function drafts() {
    const found = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        if (key.startsWith(prefix)) found.push([key.slice(prefix.length), JSON.parse(localStorage.getItem(key))]);
      }
    } catch (error) { /* no storage (private mode): nothing kept */ }
    return found;
  }

  function forget(id) {
    try { localStorage.removeItem(prefix + id); } catch (error) { /* no storage */ }
  }

  function keep(element) {
    const id = element.closest('.segment, .cue').id;
    const text = textOf(element);
    if (text === element.dataset.text) { forget(id); return; }
    try {
      localStorage.setItem(prefix + id, JSON.stringify({text, base: element.dataset.text}));
    } catch (error) { /* full or no storage: the beforeunload warning still guards the text */ }
  }

  function textNode(id) {
    const item = document.getElementById(id);
    return item ? item.querySelector('.text') : null;
  }

  // A draft is done once the page shows it saved (the segment's data-text is the draft's text), not while a
  // save is under way (data-saving): the save may fail, or the tab close before it is answered.
  function forgetSaved() {
    for (const [id, draft] of drafts()) {
      const element = textNode(id);
      if (element && !('saving' in element.dataset) && element.dataset.text === draft.text) forget(id);
    }
  }

  // On opening: put back what was typed over the text still saved; a text changed meanwhile is shown, not put back.
  function restore() {
    const restored = [];
    const changed = [];
    for (const [id, draft] of drafts()) {
      const element = textNode(id);
      if (element && element.dataset.text === draft.base && draft.text !== draft.base) {
        element.textContent = draft.text;
        restored.push(element);
      } else {
        if (element && element.dataset.text !== draft.text) changed.push(`“${draft.text}”`);
        forget(id);
      }
    }
    if (restored.length) {
      document.getElementById('status').textContent = `Niet opgeslagen tekst teruggezet in ${restored.length} ` +
        `${restored.length === 1 ? 'segment' : 'segmenten'}; Enter slaat hem op.`;
      restored[0].closest('.segment, .cue').scrollIntoView({block: 'center'});
    }
    if (changed.length) {
      document.getElementById('alert').textContent = 'Niet opgeslagen tekst van een segment dat intussen is ' +
        `gewijzigd (kopieer hem als u hem wilt houden): ${changed.join(', ')}.`;
    }
  }

  for (const list of lists) {
    list.addEventListener('input', (event) => {
      if (event.target.classList.contains('text')) keep(event.target);
    });
    new MutationObserver(forgetSaved).observe(list, {subtree: true, childList: true, attributeFilter: ['data-text', 'data-saving']});
  }
  window.addEventListener('beforeunload', (event) => {
    const texts = lists.flatMap((list) => [...list.querySelectorAll('.text')]);
    const unsaved = texts.some((element) => textOf(element) !== element.dataset.text);
    if (!unsaved && !drafts().length) return;
    event.preventDefault();
    event.returnValue = '';  // older browsers ask only when this is set
  });
  restore();
})();
