/* livecastpipe replay page: accessible player controls, keyboard shortcuts (Alt+Shift+letter), an
   interactive transcript that is one tab stop, track choice, caption preferences and exact deep links
   (`#t=48.27`, `#t=npt:48.27`, `#t=MM:SS`) over the native <video>. No network, no dependencies;
   without this script the page still works with the browser's own controls. */
(function () {
  "use strict";

  var media = document.getElementById("player");
  if (!media) { return; }
  var root = document.documentElement;
  root.classList.add("js");

  function byId(id) { return document.getElementById(id); }
  var controls = byId("bediening");
  var playButton = byId("knop-afspelen");
  var backButton = byId("knop-terug");
  var forwardButton = byId("knop-vooruit");
  var seekSlider = byId("positie");
  var timeText = byId("tijd");
  var trackSelect = byId("ondertiteling");
  var speedSelect = byId("snelheid");
  var muteButton = byId("knop-geluid");
  var volumeSlider = byId("volume");
  var fullscreenButton = byId("knop-scherm");
  var playerBox = byId("speler");
  var playerStatus = byId("speler-status");
  var transcriptBox = byId("transcript");
  var tools = byId("transcript-tools");
  var hint = byId("transcript-hint");
  var chaptersHint = byId("hoofdstukken-hint");
  var searchInput = byId("transcript-zoek");
  var autoScroll = byId("meescrollen");
  var searchStatus = byId("zoek-status");
  var currentLineButton = byId("knop-huidige-regel");
  var preferencesDialog = byId("voorkeuren");
  var helpDialog = byId("sneltoetsen");
  var turns = Array.prototype.slice.call(document.querySelectorAll("#transcript .turn"));
  var turnTexts = turns.map(function (turn) { return turn.querySelector(".turn-text"); });
  var chapterLinks = Array.prototype.slice.call(document.querySelectorAll(".chapters a[data-start]"));
  var chapterStarts = chapterLinks.map(function (a) { return parseFloat(a.getAttribute("data-start")); });
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var SPEEDS = ["0.75", "1", "1.25", "1.5", "1.75", "2"];

  function stored(key, fallback) {
    try { return window.localStorage.getItem("livecast." + key) || fallback; } catch (e) { return fallback; }
  }
  function store(key, value) {
    try { window.localStorage.setItem("livecast." + key, value); } catch (e) { /* private mode */ }
  }
  function announce(text) {
    if (!playerStatus) { return; }
    playerStatus.textContent = "";
    window.setTimeout(function () { playerStatus.textContent = text; }, 50);
  }

  /* --- times -------------------------------------------------------------------------------- */
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatTime(seconds) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : pad(m) + ":" + pad(s);
  }
  function counted(n, one, many) { return n + " " + (n === 1 ? one : many); }
  /* "1 uur 2 minuten 1 seconde": Dutch singular and plural, zero parts left out. */
  function spokenTime(seconds) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var parts = [];
    if (h) { parts.push(h + " uur"); }
    if (m) { parts.push(counted(m, "minuut", "minuten")); }
    if (s || !parts.length) { parts.push(counted(s, "seconde", "seconden")); }
    return parts.join(" ");
  }
  function dutchNumber(value) { return String(value).replace(".", ","); }
  /* Seconds from `48.27`, `00:48`, `0:00:48.27`, or the W3C media fragment `npt:48.27` (`,end` ignored). */
  function parseTime(text) {
    var start = text.replace(/^npt:/, "").split(",")[0];
    if (!/^\d+(\.\d+)?(:\d+(\.\d+)?){0,2}$/.test(start)) { return null; }
    return start.split(":").reduce(function (acc, part) { return acc * 60 + parseFloat(part); }, 0);
  }
  function timeFromHash(hash) {
    var match = /^#t=([0-9:.,npt]+)$/.exec(decodeURIComponent(hash || ""));
    return match ? parseTime(match[1]) : null;
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
  /* Enter on a transcript line or a chapter: seek there and play (a refused play is the browser's choice). */
  function playFrom(seconds) {
    seekTo(seconds);
    var playing = media.play();
    if (playing && playing.catch) { playing.catch(function () { /* autoplay refused: the position is set */ }); }
  }

  /* --- tracks: captions (with speakers), subtitles (without), English (machine translation) or off -- */
  /* The choices are found by their <track id="track-…">: the Dutch and English subtitles share a kind. */
  var TRACK_CHOICES = ["captions", "subtitles", "translated"];
  function textTrack(choice) {
    for (var i = 0; i < media.textTracks.length; i++) {
      if (media.textTracks[i].id === "track-" + choice) { return media.textTracks[i]; }
    }
    return null;
  }
  var TRACK_NAMES = { captions: "Ondertiteling met sprekers", subtitles: "Ondertiteling zonder sprekers", translated: "Engelse ondertiteling, machinevertaling", off: "Ondertiteling uit" };
  function setTrack(choice, spoken) {
    if (!trackSelect) { return; }
    if (!trackSelect.querySelector('option[value="' + choice + '"]')) { choice = trackSelect.options[0].value; }
    var inPage = captionsInPage();
    captionsDrawnInPage = inPage;
    TRACK_CHOICES.forEach(function (kind) {
      var track = textTrack(kind);
      if (track) { track.mode = kind !== choice ? "disabled" : inPage ? "hidden" : "showing"; }
    });
    trackSelect.value = choice;
    drawPageCaptions();
    store("track", choice);
    if (choice !== "off") { store("lastTrack", choice); }
    applyCuePosition();
    if (spoken) { announce(TRACK_NAMES[choice]); }
  }
  /* --- captions drawn in the page, under the video, where the browser's own would be under 16 px ---- */
  var pageCaptions = byId("ondertitels-pagina");
  var NATIVE_CUE_SHARE = 0.05; /* Chromium and Firefox draw cues at 5 % of the video's height */
  var SMALLEST_CUE_PX = 16;
  var captionsDrawnInPage = null;
  function captionsInPage() {
    return !!pageCaptions && !document.fullscreenElement && media.clientHeight * NATIVE_CUE_SHARE < SMALLEST_CUE_PX;
  }
  /* The chosen track's current cues as lines under the video (as Able Player does), or nothing. */
  function drawPageCaptions() {
    if (!pageCaptions) { return; }
    var choice = trackSelect ? trackSelect.value : "off";
    var track = choice !== "off" && captionsInPage() ? textTrack(choice) : null;
    pageCaptions.hidden = !track;
    pageCaptions.replaceChildren();
    if (!track || !track.activeCues) { return; }
    Array.prototype.forEach.call(track.activeCues, function (cue) {
      var line = document.createElement("span");
      line.className = "page-cue";
      line.appendChild(cue.getCueAsHTML()); /* WebVTT's own parser: text, voices and styling spans only */
      pageCaptions.appendChild(line);
    });
  }
  function followPlayerSize() {
    if (trackSelect && captionsInPage() !== captionsDrawnInPage) { setTrack(trackSelect.value, false); }
  }
  if (pageCaptions) {
    TRACK_CHOICES.forEach(function (kind) {
      var track = textTrack(kind);
      if (track) { track.addEventListener("cuechange", drawPageCaptions); }
    });
    if (window.ResizeObserver) { new ResizeObserver(followPlayerSize).observe(media); }
    document.addEventListener("fullscreenchange", followPlayerSize);
  }
  var CUE_COLOURS = { wit: "#ffffff", geel: "#ffff00", cyaan: "#00ffff", zwart: "#000000" };
  var CUE_BACKGROUNDS = { zwart: "0, 0, 0", wit: "255, 255, 255", blauw: "11, 31, 77" };
  var CUE_FONTS = { schreefloos: "sans-serif", schreef: "serif", vast: "monospace" };
  var cueStyle = {
    size: stored("captionSize", "normaal"),
    font: stored("captionFont", "schreefloos"),
    colour: stored("captionColour", "wit"),
    background: stored("captionBackground", "zwart"),
    opacity: stored("captionOpacity", "0.85"),
    position: stored("captionPosition", "onder")
  };
  var cueSelects = { size: "ondertitelgrootte", font: "ondertitellettertype", colour: "ondertitelkleur", background: "ondertitelachtergrond", opacity: "ondertiteldekking", position: "ondertitelpositie" };
  var cueKeys = { size: "captionSize", font: "captionFont", colour: "captionColour", background: "captionBackground", opacity: "captionOpacity", position: "captionPosition" };
  function applyCueStyle() {
    ["klein", "normaal", "groot", "extra-groot"].forEach(function (name) {
      playerBox.classList.toggle("cue-" + name, name === cueStyle.size);
    });
    playerBox.style.setProperty("--cue-colour", CUE_COLOURS[cueStyle.colour] || "#ffffff");
    playerBox.style.setProperty("--cue-font", CUE_FONTS[cueStyle.font] || "sans-serif");
    playerBox.style.setProperty("--cue-box", "rgb(" + (CUE_BACKGROUNDS[cueStyle.background] || "0, 0, 0") + ")");
    playerBox.style.setProperty("--cue-background", "rgba(" + (CUE_BACKGROUNDS[cueStyle.background] || "0, 0, 0") + ", " + (parseFloat(cueStyle.opacity) || 0) + ")");
    applyCuePosition();
  }
  function applyCuePosition() {
    TRACK_CHOICES.forEach(function (kind) {
      var track = textTrack(kind);
      if (!track || !track.cues) { return; }
      for (var i = 0; i < track.cues.length; i++) {
        track.cues[i].line = cueStyle.position === "boven" ? 0 : "auto";
      }
    });
  }
  Object.keys(cueSelects).forEach(function (key) {
    var select = byId(cueSelects[key]);
    if (!select) { return; }
    if (select.querySelector('option[value="' + cueStyle[key] + '"]')) { select.value = cueStyle[key]; } else { cueStyle[key] = select.value; }
    select.addEventListener("change", function () {
      cueStyle[key] = select.value;
      store(cueKeys[key], select.value);
      applyCueStyle();
    });
  });
  Array.prototype.forEach.call(media.querySelectorAll("track"), function (element) {
    element.addEventListener("load", applyCuePosition);
  });

  /* --- dialogs: preferences and shortcut help (focus kept inside, given back on close) ---------- */
  function focusables(container) {
    return Array.prototype.slice.call(container.querySelectorAll("button, select, input, a[href], [tabindex='0']"))
      .filter(function (el) { return !el.disabled && el.getClientRects().length; });
  }
  function openDialog(dialog) {
    if (!dialog || dialog.open) { return; }
    var opener = document.activeElement;
    dialog.showModal();
    var first = focusables(dialog)[0];
    if (first) { first.focus(); }
    dialog.addEventListener("close", function () {
      if (opener && opener.focus && document.contains(opener)) { opener.focus(); }
    }, { once: true });
  }
  [preferencesDialog, helpDialog].forEach(function (dialog) {
    if (!dialog) { return; }
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") { return; }
      var items = focusables(dialog);
      if (!items.length) { return; }
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
    });
    dialog.querySelector(".dialog-close").addEventListener("click", function () { dialog.close(); });
  });

  /* --- controls ----------------------------------------------------------------------------- */
  function togglePlay() { if (media.paused) { media.play(); } else { media.pause(); } }
  function updatePlayButton() { playButton.textContent = media.paused ? "Afspelen" : "Pauze"; }
  function setSpeed(rate, spoken) {
    media.playbackRate = parseFloat(rate) || 1;
    speedSelect.value = rate;
    store("speed", rate);
    if (spoken) { announce("Snelheid " + dutchNumber(rate) + " keer"); }
  }
  function stepSpeed(step) {
    var index = SPEEDS.indexOf(speedSelect.value);
    setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, index + step))], true);
  }
  function volumeText() {
    return media.muted || media.volume === 0 ? "geluid uit" : Math.round(media.volume * 100) + " procent";
  }
  function updateVolume() {
    muteButton.setAttribute("aria-pressed", media.muted ? "true" : "false");
    volumeSlider.value = String(media.muted ? 0 : media.volume);
    volumeSlider.setAttribute("aria-valuetext", volumeText());
    store("volume", String(media.volume));
  }
  function stepVolume(step) {
    media.muted = false;
    media.volume = Math.max(0, Math.min(1, Math.round((media.volume + step) * 10) / 10));
    announce("Volume " + volumeText());
  }
  function chapterJump(step) {
    if (!chapterStarts.length) { return; }
    var now = media.currentTime;
    var index = indexAt(chapterStarts, now);
    var target;
    if (step > 0) {
      target = index + 1;
    } else {
      target = index >= 0 && now - chapterStarts[index] > 3 ? index : index - 1;
    }
    target = Math.max(0, Math.min(chapterStarts.length - 1, target));
    seekTo(chapterStarts[target]);
    announce("Hoofdstuk " + (target + 1) + ": " + chapterLinks[target].querySelector(".chapter-title").textContent);
  }

  if (controls) {
    controls.hidden = false;
    media.controls = false;
    playButton.addEventListener("click", togglePlay);
    backButton.addEventListener("click", function () { seekTo(media.currentTime - 10); });
    forwardButton.addEventListener("click", function () { seekTo(media.currentTime + 10); });
    seekSlider.addEventListener("input", function () { seekTo(parseFloat(seekSlider.value)); });
    trackSelect.addEventListener("change", function () { setTrack(trackSelect.value, false); });
    speedSelect.addEventListener("change", function () { setSpeed(speedSelect.value, false); });
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
    byId("knop-voorkeuren").addEventListener("click", function () { openDialog(preferencesDialog); });
    byId("knop-sneltoetsen").addEventListener("click", function () { openDialog(helpDialog); });
    media.addEventListener("click", togglePlay);
    media.addEventListener("play", updatePlayButton);
    media.addEventListener("pause", updatePlayButton);
    media.addEventListener("volumechange", updateVolume);
    media.addEventListener("loadedmetadata", function () {
      if (isFinite(media.duration)) { seekSlider.max = String(Math.floor(media.duration)); }
      update();
    });
    setTrack(stored("track", trackSelect.options[0].value), false);
    media.textTracks.addEventListener("addtrack", function () { setTrack(trackSelect.value, false); });
    applyCueStyle();
    setSpeed(SPEEDS.indexOf(stored("speed", "1")) >= 0 ? stored("speed", "1") : "1", false);
    media.volume = Math.max(0, Math.min(1, parseFloat(stored("volume", "1"))));
    updateVolume();
  }

  /* --- sign language: a movable, resizable window kept within 0.3 s of the player --------------- */
  var signWindow = byId("gebarentaal-venster");
  var signVideo = byId("gebarentaal");
  var signButton = byId("knop-gebarentaal");
  var SIGN_SEEK_S = 0.15;   /* further apart than this: seek */
  var SIGN_NUDGE_S = 0.04;  /* between the two: play a tenth faster or slower until together again */
  function syncSign() {
    if (!signVideo || signWindow.hidden) { return; }
    var target = media.currentTime;
    if (isFinite(signVideo.duration) && target > signVideo.duration) { target = signVideo.duration; }
    var behind = target - signVideo.currentTime;
    var rate = media.playbackRate;
    if (Math.abs(behind) > SIGN_SEEK_S && !signVideo.seeking) { signVideo.currentTime = target; }
    else if (Math.abs(behind) > SIGN_NUDGE_S && !media.paused) { rate = media.playbackRate * (behind > 0 ? 1.1 : 0.9); }
    if (signVideo.playbackRate !== rate) { signVideo.playbackRate = rate; }
    if (media.paused && !signVideo.paused) { signVideo.pause(); }
    if (!media.paused && signVideo.paused && target < (signVideo.duration || Infinity)) {
      var playing = signVideo.play();
      if (playing && playing.catch) { playing.catch(function () { /* retried at the next timeupdate */ }); }
    }
  }
  function setSign(on, spoken) {
    if (!signWindow) { return; }
    signWindow.hidden = !on;
    signButton.setAttribute("aria-pressed", on ? "true" : "false");
    store("signLanguage", on ? "on" : "off");
    if (on) { syncSign(); } else { signVideo.pause(); }
    if (spoken) { announce(on ? "Gebarentaal getoond" : "Gebarentaal verborgen"); }
  }
  function placeSign(left, top, width) {
    var w = Math.max(160, Math.min(width, window.innerWidth - 16));
    signWindow.style.width = w + "px";
    signWindow.style.left = Math.max(0, Math.min(left, window.innerWidth - w)) + "px";
    signWindow.style.top = Math.max(0, Math.min(top, window.innerHeight - 80)) + "px";
    signWindow.style.right = "auto";
    signWindow.style.bottom = "auto";
  }
  if (signWindow) {
    ["play", "pause", "seeked", "ratechange", "timeupdate"].forEach(function (name) { media.addEventListener(name, syncSign); });
    window.setInterval(function () { if (!media.paused) { syncSign(); } }, 100);
    signButton.addEventListener("click", function () { setSign(signWindow.hidden, false); });
    var bar = signWindow.querySelector(".sign-bar");
    var moveButton = byId("gebarentaal-verplaats");
    bar.addEventListener("pointerdown", function (event) {
      var box = signWindow.getBoundingClientRect();
      var dx = event.clientX - box.left, dy = event.clientY - box.top;
      bar.setPointerCapture(event.pointerId);
      function move(e) { placeSign(e.clientX - dx, e.clientY - dy, box.width); }
      function stop() { bar.removeEventListener("pointermove", move); bar.removeEventListener("pointerup", stop); }
      bar.addEventListener("pointermove", move);
      bar.addEventListener("pointerup", stop);
      event.preventDefault();
    });
    moveButton.addEventListener("keydown", function (event) {
      var steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
      if (!steps || event.altKey || event.ctrlKey || event.metaKey) { return; }
      event.preventDefault();
      var box = signWindow.getBoundingClientRect();
      if (event.shiftKey) { placeSign(box.left, box.top, box.width + 20 * (steps[0] || -steps[1])); }
      else { placeSign(box.left + 20 * steps[0], box.top + 20 * steps[1], box.width); }
    });
    setSign(stored("signLanguage", "off") === "on", false);
  }

  /* --- audio description: WebVTT cues voiced by speech synthesis or announced to screen readers -- */
  var descriptionTrack = textTrack("descriptions");
  var descriptionButton = byId("knop-beschrijving");
  var descriptionText = byId("beschrijving");
  var descriptionVoice = byId("beschrijving-stem");
  var descriptionPause = byId("beschrijving-pauze");
  var pausedForDescription = false;
  function describe(text) {
    descriptionText.textContent = text;
    if (descriptionVoice.value !== "spraak" || !window.speechSynthesis || !window.SpeechSynthesisUtterance) { return; }
    var utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = "nl-NL";
    utterance.rate = Math.min(2, media.playbackRate || 1);
    if (descriptionPause.checked && !media.paused) {
      pausedForDescription = true;
      media.pause();
      utterance.onend = utterance.onerror = function () {
        if (pausedForDescription) { pausedForDescription = false; media.play(); }
      };
    }
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(utterance);
  }
  function setDescriptions(on, spoken) {
    if (!descriptionTrack || !descriptionButton) { return; }
    descriptionTrack.mode = on ? "hidden" : "disabled";
    descriptionButton.setAttribute("aria-pressed", on ? "true" : "false");
    descriptionText.hidden = !on;
    if (!on) { descriptionText.textContent = ""; if (window.speechSynthesis) { window.speechSynthesis.cancel(); } }
    store("descriptions", on ? "on" : "off");
    if (spoken) { announce(on ? "Audiodescriptie aan" : "Audiodescriptie uit"); }
  }
  function setDescriptionVoice(value) {
    descriptionVoice.value = value;
    /* spoken by the browser: not announced a second time; else the screen reader reads the live region */
    descriptionText.setAttribute("aria-live", value === "spraak" ? "off" : "polite");
    store("descriptionVoice", value);
  }
  if (descriptionTrack && descriptionButton) {
    descriptionTrack.addEventListener("cuechange", function () {
      var cues = descriptionTrack.activeCues;
      if (cues && cues.length) { describe(Array.prototype.map.call(cues, function (cue) { return cue.text; }).join(" ")); }
    });
    descriptionButton.addEventListener("click", function () { setDescriptions(descriptionTrack.mode === "disabled", false); });
    descriptionVoice.addEventListener("change", function () { setDescriptionVoice(descriptionVoice.value); });
    descriptionPause.checked = stored("descriptionPause", "off") === "on";
    descriptionPause.addEventListener("change", function () { store("descriptionPause", descriptionPause.checked ? "on" : "off"); });
    media.addEventListener("play", function () { pausedForDescription = false; }); /* the viewer took over */
    setDescriptionVoice(stored("descriptionVoice", "spraak") === "schermlezer" ? "schermlezer" : "spraak");
    setDescriptions(stored("descriptions", "off") === "on", false);
  }

  /* --- keyboard shortcuts: Alt+Shift+letter (or Alt+Ctrl, the viewer's choice) anywhere on the page --- */
  var actions = {
    play: togglePlay,
    back: function () { seekTo(media.currentTime - 10); announce("10 seconden terug, " + spokenTime(media.currentTime)); },
    forward: function () { seekTo(media.currentTime + 10); announce("10 seconden vooruit, " + spokenTime(media.currentTime)); },
    "chapter-previous": function () { chapterJump(-1); },
    "chapter-next": function () { chapterJump(1); },
    captions: function () { setTrack(trackSelect.value === "off" ? stored("lastTrack", trackSelect.options[0].value) : "off", true); },
    transcript: function () { goToCurrentLine(); },
    slower: function () { stepSpeed(-1); },
    faster: function () { stepSpeed(1); },
    "volume-up": function () { stepVolume(0.1); },
    "volume-down": function () { stepVolume(-0.1); },
    mute: function () { media.muted = !media.muted; announce(media.muted ? "Geluid uit" : "Geluid aan"); },
    descriptions: function () { if (descriptionTrack) { setDescriptions(descriptionTrack.mode === "disabled", true); } },
    "sign-language": function () { if (signWindow) { setSign(signWindow.hidden, true); } },
    preferences: function () { openDialog(preferencesDialog); },
    help: function () { openDialog(helpDialog); }
  };
  var shortcuts = {};
  Array.prototype.forEach.call(document.querySelectorAll("#sneltoetsen tr[data-code]"), function (row) {
    shortcuts[row.getAttribute("data-code")] = actions[row.getAttribute("data-action")];
  });
  var modifierSelect = byId("sneltoets-combinatie");
  var secondModifier = "shift";
  function setModifier(value) {
    secondModifier = value === "ctrl" ? "ctrl" : "shift";
    modifierSelect.value = secondModifier;
    Array.prototype.forEach.call(document.querySelectorAll(".second-modifier"), function (kbd) {
      kbd.textContent = secondModifier === "ctrl" ? "Ctrl" : "Shift";
    });
    store("shortcutModifier", secondModifier);
  }
  if (modifierSelect) {
    setModifier(stored("shortcutModifier", "shift"));
    modifierSelect.addEventListener("change", function () { setModifier(modifierSelect.value); });
  }
  document.addEventListener("keydown", function (event) {
    var second = secondModifier === "ctrl" ? event.ctrlKey && !event.shiftKey : event.shiftKey && !event.ctrlKey;
    if (!controls || !event.altKey || !second || event.metaKey) { return; }
    var action = shortcuts[event.code];
    if (!action || document.querySelector("dialog[open]")) { return; }
    event.preventDefault();
    action();
  });

  /* --- transcript and chapters: each one tab stop, arrow keys inside (roving tabindex) ---------- */
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
  /* A list whose items share one tab stop: the item holding tabindex 0 is the one Tab reaches. */
  function RovingList(items, visible) {
    this.items = items;
    this.visible = visible || function () { return true; };
    this.at = 0;
    items.forEach(function (item, i) { item.setAttribute("tabindex", i === 0 ? "0" : "-1"); });
  }
  RovingList.prototype.set = function (index, focus) {
    if (index < 0 || index >= this.items.length) { return; }
    this.items[this.at].setAttribute("tabindex", "-1");
    this.at = index;
    this.items[index].setAttribute("tabindex", "0");
    if (focus) { this.items[index].focus(); }
  };
  RovingList.prototype.move = function (from, step) {
    for (var i = from + step; i >= 0 && i < this.items.length; i += step) {
      if (this.visible(i)) { this.set(i, true); return; }
    }
  };
  RovingList.prototype.onKey = function (event) {
    var index = this.items.indexOf(event.target);
    if (index < 0) { return false; }
    var keys = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
    if (keys[event.key]) { this.move(index, keys[event.key]); }
    else if (event.key === "Home") { this.move(-1, 1); }
    else if (event.key === "End") { this.move(this.items.length, -1); }
    else { return false; }
    event.preventDefault();
    return true;
  };
  RovingList.prototype.firstVisible = function () {
    if (this.visible(this.at)) { return; }
    for (var i = 0; i < this.items.length; i++) { if (this.visible(i)) { this.set(i, false); return; } }
  };
  var transcriptList = turnTexts.length ? new RovingList(turnTexts, function (i) { return !turns[i].hidden; }) : null;
  var chapterList = chapterLinks.length ? new RovingList(chapterLinks) : null;

  function scrollTranscriptTo(turn) {
    var top = Math.max(0, turn.offsetTop - 8); /* the box is positioned: offsets are relative to it */
    if (transcriptBox.scrollTo) {
      transcriptBox.scrollTo({ top: top, behavior: reduceMotion ? "auto" : "smooth" });
    } else {
      transcriptBox.scrollTop = top;
    }
  }
  function goToCurrentLine() {
    if (!transcriptList) { return; }
    var index = Math.max(0, current);
    if (turns[index].hidden && searchInput) { searchInput.value = ""; search(); }
    scrollTranscriptTo(turns[index]);
    transcriptList.set(index, true);
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
        if (!userIsInTranscript && !turn.hidden) { transcriptList.set(current, false); }
        if (autoScroll && autoScroll.checked && !turn.hidden && !userIsInTranscript) { scrollTranscriptTo(turn); }
      }
    }
    var chapterIndex = indexAt(chapterStarts, media.currentTime);
    if (chapterIndex !== currentChapter) {
      if (currentChapter >= 0) { chapterLinks[currentChapter].removeAttribute("aria-current"); }
      currentChapter = chapterIndex;
      if (currentChapter >= 0) {
        chapterLinks[currentChapter].setAttribute("aria-current", "true");
        if (!chapterLinks[currentChapter].closest("nav").contains(document.activeElement)) { chapterList.set(currentChapter, false); }
      }
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
    var head = turn.querySelector(".turn-head");
    text.setAttribute("aria-describedby", (head && head.id ? head.id + " " : "") + "transcript-hint");
    var stamp = turn.querySelector(".turn-head a");
    if (stamp) { stamp.setAttribute("tabindex", "-1"); } /* the paragraph itself is the way in */
  });
  if (tools) { tools.hidden = false; }
  if (hint) { hint.hidden = false; }
  if (chaptersHint && chapterList) {
    chaptersHint.hidden = false;
    chapterLinks.forEach(function (a) { a.setAttribute("aria-describedby", "hoofdstukken-hint"); });
  }
  if (transcriptBox) { transcriptBox.classList.add("is-scrollable"); }
  if (currentLineButton) { currentLineButton.addEventListener("click", goToCurrentLine); }

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
      transcriptList.set(turnTexts.indexOf(paragraph), false);
      seekTo(parseFloat((piece || turn).getAttribute("data-start")));
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (transcriptList && transcriptList.onKey(event)) { return; }
    if (chapterList && chapterList.onKey(event)) { return; }
    var paragraph = event.target.closest && event.target.closest("#transcript .turn-text");
    if (paragraph && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      playFrom(parseFloat(paragraph.closest(".turn").getAttribute("data-start")));
    }
    var chapter = event.target.closest && event.target.closest(".chapters a[data-start]");
    if (chapter && event.key === "Enter") { /* a click (the mouse) only seeks; Enter plays, as in the transcript */
      event.preventDefault();
      history.replaceState(null, "", chapter.getAttribute("href"));
      playFrom(parseFloat(chapter.getAttribute("data-start")));
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
    if (transcriptList) { transcriptList.firstVisible(); }
  }
  if (searchInput) {
    var timer = null;
    searchInput.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    searchInput.addEventListener("search", search);
  }
  var highlightCheck = byId("markeren");
  if (highlightCheck) { /* the current turn stays marked for screen readers (aria-current); only the look goes */
    highlightCheck.checked = stored("highlight", "on") === "on";
    root.classList.toggle("no-highlight", !highlightCheck.checked);
    highlightCheck.addEventListener("change", function () {
      root.classList.toggle("no-highlight", !highlightCheck.checked);
      store("highlight", highlightCheck.checked ? "on" : "off");
    });
  }
  if (autoScroll) {
    autoScroll.checked = stored("autoScroll", "on") === "on";
    autoScroll.addEventListener("change", function () { store("autoScroll", autoScroll.checked ? "on" : "off"); });
  }

  /* --- embed code: absolute address, copy button ---------------------------------------------- */
  var embedCode = byId("insluitcode");
  var copyButton = byId("knop-kopieer");
  var copyStatus = byId("kopieer-status");
  if (embedCode && copyButton) {
    embedCode.value = embedCode.value.replace(/src="([^"]*)"/, function (all, src) {
      return src.indexOf("://") === -1 ? 'src="' + new URL(src, location.href).href + '"' : all;
    });
    copyButton.hidden = false;
    copyButton.addEventListener("click", function () {
      function selected() {
        embedCode.focus();
        embedCode.select();
        copyStatus.textContent = "Kopiëren lukte niet: de code is geselecteerd, kopieer hem met Ctrl+C.";
      }
      if (!navigator.clipboard) { selected(); return; }
      navigator.clipboard.writeText(embedCode.value).then(function () {
        copyStatus.textContent = "De code is gekopieerd.";
      }, selected);
    });
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
