// The transcript is one tab stop (a roving tabindex): Tab reaches the segment last edited (at first the
// first one), ArrowUp on a segment's first line and ArrowDown on its last go to the segment before or after.
// A segment's play button and speaker list are clicked, or reached by their keys (Alt+R, Alt+P).
// The English cues (machine translation) are one tab stop of their own, moved through the same way.
(() => {
  'use strict';
  for (const [selector, item] of [['.segments', '.segment'], ['.cues', '.cue']]) {
    const list = document.querySelector(selector);
    if (list) rove(list, item);
  }

  function rove(list, item) {
    function makeCurrent(text) {
      for (const other of list.querySelectorAll('.text[tabindex="0"]')) if (other !== text) other.tabIndex = -1;
      text.tabIndex = 0;
    }

    // Segments are replaced as they are saved, split or merged: one of them always keeps the tab stop.
    function keepOneTabStop() {
      const active = document.activeElement;
      const text = active && list.contains(active) ? active.closest(item).querySelector('.text') : null;
      if (text) makeCurrent(text);
      else if (!list.querySelector('.text[tabindex="0"]') && list.querySelector('.text')) makeCurrent(list.querySelector('.text'));
    }

    // Whether the caret is on the first (`up`) or last line of a segment's text, where the arrow leaves it.
    function onEdgeLine(text, up) {
      const selection = getSelection();
      if (!selection.rangeCount || !text.contains(selection.anchorNode)) return true;  // no caret in it yet
      const caret = selection.getRangeAt(0).cloneRange();
      caret.collapse(up);
      const rects = caret.getClientRects();
      if (!rects.length) return true;
      const box = text.getBoundingClientRect();
      const line = parseFloat(getComputedStyle(text).lineHeight) || 24;
      return up ? rects[0].top - box.top < line : box.bottom - rects[rects.length - 1].bottom < line;
    }

    function moveTo(text, atEnd) {
      makeCurrent(text);
      text.focus();
      const selection = getSelection();
      selection.selectAllChildren(text);
      if (atEnd) selection.collapseToEnd();
      else selection.collapseToStart();
    }

    list.addEventListener('focusin', (event) => {
      const segment = event.target.closest(item);
      if (segment) makeCurrent(segment.querySelector('.text'));
    });
    list.addEventListener('keydown', (event) => {
      const up = event.key === 'ArrowUp';
      if (!(up || event.key === 'ArrowDown') || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      const text = event.target.closest('.text');
      if (!text || !onEdgeLine(text, up)) return;
      const segment = text.closest(item);
      const next = up ? segment.previousElementSibling : segment.nextElementSibling;
      if (!next) return;
      event.preventDefault();
      moveTo(next.querySelector('.text'), up);
    });
    new MutationObserver(keepOneTabStop).observe(list, {childList: true});
    keepOneTabStop();
  }
})();
