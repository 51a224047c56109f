// Generated texts an edit has overtaken: a keyword no segment says any more (find-and-replace took it out
// everywhere, say) is marked in "Teksten nakijken", so the editor does not approve a word nobody said.
(() => {
  'use strict';
  const list = document.querySelector('.segments');
  const keywords = document.querySelector('.review > li[data-key="session/keywords"]');
  if (!list || !keywords) return;
  const field = keywords.querySelector('textarea');
  const note = document.createElement('p');
  note.className = 'vanished';
  note.id = 'keywords-vanished';
  note.hidden = true;
  keywords.querySelector('.state').after(note);
  field.setAttribute('aria-describedby', note.id);

  // Lower case without accents, words split on anything else: "Coöperatie!" and "cooperatie" are one word.
  function folded(text) {
    return ` ${text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
  }

  function markVanished() {
    const spoken = folded([...list.querySelectorAll('.text')].map((text) => text.textContent).join(' '));
    const vanished = field.value.split(',').map((word) => word.trim())
      .filter((word) => word && !spoken.includes(folded(word)));
    note.hidden = !vanished.length;
    note.textContent = vanished.length ? `Verouderd: ${vanished.map((w) => `“${w}”`).join(', ')} ` +
      `${vanished.length === 1 ? 'komt' : 'komen'} niet meer voor in het transcript.` : '';
  }

  new MutationObserver(markVanished).observe(document.getElementById('review-dialog'), {attributeFilter: ['open']});
  field.addEventListener('input', markVanished);
  markVanished();
})();
