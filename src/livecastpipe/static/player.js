/* livecastpipe replay page: accessible player controls, interactive transcript, chapters and
   `#t=MM:SS` deep links over the native <video>. No network, no dependencies; without this
   script the page still works with the browser's own controls. */
(function () {
  "use strict";

  var media = document.getElementById("player");
  if (!media) { return; }
  var root = document.documentElement;
  root.classList.add("js");

  var controls = document.getElementById("bediening");
  var playButton = document.getElementById("knop-afspelen");
  var backButton = document.getElementById("knop-terug");
  var forwardButton = document.getElementById("knop-vooruit");
  var seekSlider = document.getElementById("positie");
  var timeText = document.getElementById("tijd");
  var captionsButton = document.getElementById("knop-ondertiteling");
  var sizeSelect = document.getElementById("ondertitelgrootte");
  var speedSelect = document.getElementById("snelheid");
  var muteButton = document.getElementById("knop-geluid");
  var volumeSlider = document.getElementById("volume");
  var fullscreenButton = document.getElementById("knop-scherm");
  var playerBox = document.getElementById("speler");
  var transcriptBox = document.getElementById("transcript");
  var tools = document.getElementById("transcript-tools");
  var hint = document.getElementById("transcript-hint");
  var searchInput = document.getElementById("transcript-zoek");
  var autoScroll = document.getElementById("meescrollen");
  var searchStatus = document.getElementById("zoek-status");
  var turns = Array.prototype.slice.call(document.querySelectorAll("#transcript .turn"));
  var chapterLinks = Array.prototype.slice.call(document.querySelectorAll(".chapters a[data-start]"));
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function stored(key, fallback) {
    try { return window.localStorage.getItem("livecast." + key) || fallback; } catch (e) { return fallback; }
  }
  function store(key, value) {
    try { window.localStorage.setItem("livecast." + key, value); } catch (e) { /* private mode */ }
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatTime(seconds) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : pad(m) + ":" + pad(s);
  }
  function spokenTime(seconds) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return (h ? h + " uur " : "") + m + " minuten " + s + " seconden";
  }
  function parseTime(text) {
    if (!/^\d+(\.\d+)?(:\d+(\.\d+)?){0,2}$/.test(text)) { return null; }
    return text.split(":").reduce(function (acc, part) { return acc * 60 + parseFloat(part); }, 0);
  }

  /* --- seeking ------------------------------------------------------------------------------ */
  function seekTo(seconds) {
    function go() {
      var end = isFinite(media.duration) ? media.duration : seconds;
      media.currentTime = Math.max(0, Math.min(seconds, end));
      update();
    }
    if (media.readyState >= 1) { go(); } else { media.addEventListener("loadedmetadata", go, { once: true }); }
  }
  function timeFromHash(hash) {
    var match = /^#t=([0-9:.]+)$/.exec(decodeURIComponent(hash || ""));
    return match ? parseTime(match[1]) : null;
  }

  /* --- controls ----------------------------------------------------------------------------- */
  function captionTrack() {
    for (var i = 0; i < media.textTracks.length; i++) {
      if (media.textTracks[i].kind === "captions") { return media.textTracks[i]; }
    }
    for (var j = 0; j < media.textTracks.length; j++) {
      if (media.textTracks[j].kind === "subtitles") { return media.textTracks[j]; }
    }
    return null;
  }
  function setCaptions(on) {
    for (var i = 0; i < media.textTracks.length; i++) {
      var track = media.textTracks[i];
      if (track.kind === "captions" || track.kind === "subtitles") { track.mode = "disabled"; }
    }
    var track = captionTrack();
    if (track) { track.mode = on ? "showing" : "hidden"; }
    captionsButton.setAttribute("aria-pressed", on ? "true" : "false");
    store("captions", on ? "on" : "off");
  }
  function setCaptionSize(size) {
    ["klein", "normaal", "groot", "extra-groot"].forEach(function (name) {
      playerBox.classList.toggle("cue-" + name, name === size);
    });
    sizeSelect.value = size;
    store("captionSize", size);
  }
  function updatePlayButton() {
    playButton.textContent = media.paused ? "Afspelen" : "Pauze";
  }
  function updateMute() {
    muteButton.setAttribute("aria-pressed", media.muted ? "true" : "false");
  }

  if (controls) {
    controls.hidden = false;
    media.controls = false;
    playButton.addEventListener("click", function () {
      if (media.paused) { media.play(); } else { media.pause(); }
    });
    backButton.addEventListener("click", function () { seekTo(media.currentTime - 10); });
    forwardButton.addEventListener("click", function () { seekTo(media.currentTime + 10); });
    seekSlider.addEventListener("input", function () { seekTo(parseFloat(seekSlider.value)); });
    captionsButton.addEventListener("click", function () {
      setCaptions(captionsButton.getAttribute("aria-pressed") !== "true");
    });
    sizeSelect.addEventListener("change", function () { setCaptionSize(sizeSelect.value); });
    speedSelect.addEventListener("change", function () {
      media.playbackRate = parseFloat(speedSelect.value);
      store("speed", speedSelect.value);
    });
    muteButton.addEventListener("click", function () { media.muted = !media.muted; });
    volumeSlider.addEventListener("input", function () {
      media.volume = parseFloat(volumeSlider.value);
      media.muted = media.volume === 0;
    });
    fullscreenButton.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else if (playerBox.requestFullscreen) { playerBox.requestFullscreen(); }
    });
    document.addEventListener("fullscreenchange", function () {
      fullscreenButton.textContent = document.fullscreenElement ? "Volledig scherm sluiten" : "Volledig scherm";
    });
    media.addEventListener("click", function () { if (media.paused) { media.play(); } else { media.pause(); } });
    media.addEventListener("play", updatePlayButton);
    media.addEventListener("pause", updatePlayButton);
    media.addEventListener("volumechange", updateMute);
    media.addEventListener("loadedmetadata", function () {
      if (isFinite(media.duration)) { seekSlider.max = String(Math.floor(media.duration)); }
      update();
    });
    setCaptions(stored("captions", "on") === "on");
    setCaptionSize(stored("captionSize", "normaal"));
    speedSelect.value = stored("speed", "1");
    media.playbackRate = parseFloat(speedSelect.value) || 1;
    media.textTracks.addEventListener("addtrack", function () {
      setCaptions(captionsButton.getAttribute("aria-pressed") === "true");
    });
  }

  /* --- transcript --------------------------------------------------------------------------- */
  var starts = turns.map(function (turn) { return parseFloat(turn.getAttribute("data-start")); });
  var current = -1;
  var currentChapter = -1;

  function indexAt(list, seconds) {
    var low = 0, high = list.length - 1, found = -1;
    while (low <= high) {
      var mid = (low + high) >> 1;
      if (list[mid] <= seconds + 0.05) { found = mid; low = mid + 1; } else { high = mid - 1; }
    }
    return found;
  }
  function scrollTranscriptTo(turn) {
    var top = Math.max(0, turn.offsetTop - 8); /* the box is positioned: offsets are relative to it */
    if (transcriptBox.scrollTo) {
      transcriptBox.scrollTo({ top: top, behavior: reduceMotion ? "auto" : "smooth" });
    } else {
      transcriptBox.scrollTop = top;
    }
  }
  function highlight() {
    var index = indexAt(starts, media.currentTime);
    if (index !== current) {
      if (current >= 0) { turns[current].classList.remove("is-current"); turns[current].removeAttribute("aria-current"); }
      current = index;
      if (current >= 0) {
        var turn = turns[current];
        turn.classList.add("is-current");
        turn.setAttribute("aria-current", "time");
        var userIsInTranscript = transcriptBox.contains(document.activeElement);
        if (autoScroll && autoScroll.checked && !turn.hidden && !userIsInTranscript) { scrollTranscriptTo(turn); }
      }
    }
    var chapterStarts = chapterLinks.map(function (a) { return parseFloat(a.getAttribute("data-start")); });
    var chapterIndex = indexAt(chapterStarts, media.currentTime);
    if (chapterIndex !== currentChapter) {
      if (currentChapter >= 0) { chapterLinks[currentChapter].removeAttribute("aria-current"); }
      currentChapter = chapterIndex;
      if (currentChapter >= 0) { chapterLinks[currentChapter].setAttribute("aria-current", "true"); }
    }
  }
  function update() {
    if (controls) {
      var duration = isFinite(media.duration) ? media.duration : parseFloat(seekSlider.max);
      timeText.textContent = formatTime(media.currentTime) + " / " + formatTime(duration);
      seekSlider.value = String(Math.floor(media.currentTime));
      seekSlider.setAttribute("aria-valuetext", spokenTime(media.currentTime) + " van " + spokenTime(duration));
    }
    highlight();
  }
  media.addEventListener("timeupdate", update);
  media.addEventListener("seeked", update);

  turns.forEach(function (turn) {
    var text = turn.querySelector(".turn-text");
    text.setAttribute("tabindex", "0");
    text.setAttribute("aria-describedby", "transcript-hint");
  });
  if (tools) { tools.hidden = false; }
  if (hint) { hint.hidden = false; }
  if (transcriptBox) { transcriptBox.classList.add("is-scrollable"); }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#t="]');
    if (link) {
      var seconds = timeFromHash(link.getAttribute("href"));
      if (seconds !== null) {
        event.preventDefault();
        seekTo(seconds);
        history.replaceState(null, "", link.getAttribute("href"));
      }
      return;
    }
    var paragraph = event.target.closest && event.target.closest("#transcript .turn-text");
    if (paragraph) {
      var piece = event.target.closest("[data-start]");
      var turn = paragraph.closest(".turn");
      seekTo(parseFloat((piece || turn).getAttribute("data-start")));
    }
  });
  document.addEventListener("keydown", function (event) {
    var paragraph = event.target.closest && event.target.closest("#transcript .turn-text");
    if (paragraph && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      seekTo(parseFloat(paragraph.closest(".turn").getAttribute("data-start")));
    }
  });

  /* --- transcript search -------------------------------------------------------------------- */
  function fold(text) {
    var out = "", map = [];
    for (var i = 0; i < text.length; i++) {
      var folded = text[i].normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
      for (var j = 0; j < folded.length; j++) { out += folded[j]; map.push(i); }
    }
    map.push(text.length);
    return { text: out, map: map };
  }
  function clearMarks(element) {
    var marks = element.querySelectorAll("mark");
    for (var i = 0; i < marks.length; i++) {
      marks[i].replaceWith(document.createTextNode(marks[i].textContent));
    }
    element.normalize();
  }
  function markMatches(element, query) {
    var walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    nodes.forEach(function (node) {
      var folded = fold(node.data);
      var at = folded.text.indexOf(query);
      var ranges = [];
      while (at !== -1) {
        ranges.push([folded.map[at], folded.map[at + query.length]]);
        at = folded.text.indexOf(query, at + query.length);
      }
      for (var k = ranges.length - 1; k >= 0; k--) {
        var range = document.createRange();
        range.setStart(node, ranges[k][0]);
        range.setEnd(node, ranges[k][1]);
        range.surroundContents(document.createElement("mark"));
      }
    });
  }
  function search() {
    var query = fold(searchInput.value.trim()).text;
    var found = 0;
    turns.forEach(function (turn) {
      clearMarks(turn);
      var matches = !query || fold(turn.textContent).text.indexOf(query) !== -1;
      turn.hidden = !matches;
      if (matches && query) { found++; markMatches(turn, query); }
    });
    searchStatus.textContent = query
      ? (found === 1 ? "1 alinea gevonden" : found + " alinea's gevonden")
      : "";
  }
  if (searchInput) {
    var timer = null;
    searchInput.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    searchInput.addEventListener("search", search);
  }

  /* --- deep links --------------------------------------------------------------------------- */
  var initial = timeFromHash(location.hash);
  if (initial !== null) {
    seekTo(initial);
    if (playerBox.scrollIntoView) { playerBox.scrollIntoView({ block: "start" }); }
  }
  window.addEventListener("hashchange", function () {
    var seconds = timeFromHash(location.hash);
    if (seconds !== null) { seekTo(seconds); }
  });
  updatePlayButton();
  update();
})();
