// The rating workspace's player (issue 17), a Streamlit custom component without a build step.
//
// Protocol (what streamlit-component-lib does, spoken directly): post "streamlit:componentReady"
// to the parent; receive "streamlit:render" with the arguments from Python (url, media_type,
// cues, seek, can_mark); post "streamlit:setFrameHeight" and "streamlit:setComponentValue".
// The only value sent back is an event {kind: "mark", t: <playback time in s>, nonce}; Python
// adds the evidence mark once per nonce (ui/rating_widgets.handle_player_event). Apart from that,
// {kind: "redraw", nonce} only asks for a rerun (see watchPlaceholders below).
//
// Keyboard: the iframe is same-origin, so the shortcuts also listen on the page around it (not
// while typing in a field): k or space play/pause (space only where it would not press a
// focused control), j/l back/forward 5 s, m mark this moment, 1-5 press that score in the item
// that holds the keyboard focus (the item scorer's own control, so saving is Streamlit's).
(function () {
  "use strict";
  var slot = document.getElementById("media-slot");
  var noMedia = document.getElementById("no-media");
  var playBtn = document.getElementById("play");
  var markBtn = document.getElementById("mark");
  var speed = document.getElementById("speed");
  var clock = document.getElementById("clock");
  var list = document.getElementById("cues");
  var status = document.getElementById("status");
  var media = null, url = null, cues = [], cuesJson = "", current = -1, canMark = false, lastSeek = null;

  function post(type, extra) {
    var msg = {isStreamlitMessage: true, type: type};
    for (var k in extra || {}) msg[k] = extra[k];
    window.parent.postMessage(msg, "*");
  }

  function fmt(seconds) {  // as fidelity.transcripts.fmt_time: m:ss, or h:mm:ss from an hour
    var s = Math.max(0, Math.round(seconds || 0)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var sec = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + sec : m + ":" + sec;
  }

  function resize() { post("streamlit:setFrameHeight", {height: document.documentElement.scrollHeight}); }

  function seekTo(t) {
    if (!media) return;
    var go = function () { media.currentTime = Math.max(0, t); follow(); };
    if (media.readyState >= 1) go(); else media.addEventListener("loadedmetadata", go, {once: true});
  }

  function toggle() {
    if (!media) return;
    if (media.paused) { media.play().catch(function () {}); } else { media.pause(); }
  }

  function mark() {
    if (!media || !canMark) return;
    var t = Math.round(media.currentTime * 10) / 10;
    post("streamlit:setComponentValue", {dataType: "json", value: {
      kind: "mark", t: t, nonce: Date.now().toString(36) + Math.random().toString(36).slice(2)}});
    status.textContent = "Evidence mark added at " + fmt(t) + ".";
  }

  function follow() {
    var t = media ? media.currentTime : 0;
    clock.textContent = fmt(t) + (media && isFinite(media.duration) ? " / " + fmt(media.duration) : "");
    var idx = -1;
    for (var i = 0; i < cues.length && cues[i].start_s <= t; i++) idx = i;
    if (idx === current) return;
    var items = list.children;
    if (current >= 0 && items[current]) { items[current].classList.remove("current"); items[current].firstChild.removeAttribute("aria-current"); }
    current = idx;
    if (idx < 0 || !items[idx]) return;
    var li = items[idx];
    if (!list.contains(document.activeElement)) rove(idx);  // Tab into the transcript lands on the line playing
    li.classList.add("current");
    li.firstChild.setAttribute("aria-current", "time");
    // keep the line in view inside the transcript box only (scrollIntoView would move the page)
    if (li.offsetTop < list.scrollTop || li.offsetTop + li.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, li.offsetTop - list.clientHeight / 3);
    }
  }

  function showPlaying() {
    var playing = media && !media.paused;
    playBtn.textContent = playing ? "Pause" : "Play";
    playBtn.setAttribute("aria-pressed", playing ? "true" : "false");
  }

  function setMedia(newUrl, type, message) {
    if (newUrl === url) return;
    var keep = media ? media.currentTime : 0, wasPlaying = media && !media.paused;
    url = newUrl;
    if (media) media.pause();
    slot.textContent = "";
    media = null;
    noMedia.hidden = !!url;
    noMedia.textContent = url ? "" : (message || "The recording cannot play here.");
    playBtn.disabled = !url;
    if (!url) return;
    media = document.createElement((type || "").indexOf("video/") === 0 ? "video" : "audio");
    media.controls = true;
    media.preload = "metadata";
    media.setAttribute("aria-label", "Recording of the session");
    media.defaultPlaybackRate = media.playbackRate = parseFloat(speed.value);
    media.addEventListener("timeupdate", follow);
    media.addEventListener("seeked", follow);
    media.addEventListener("loadedmetadata", function () { follow(); resize(); });
    media.addEventListener("play", showPlaying);
    media.addEventListener("pause", showPlaying);
    media.src = url;  // a renewed link (same recording): carry on where it was
    slot.appendChild(media);
    if (keep) seekTo(keep);
    if (wasPlaying) media.play().catch(function () {});
    showPlaying();
  }

  function setCues(newCues) {
    var json = JSON.stringify(newCues || []);
    if (json === cuesJson) return;
    cuesJson = json;
    cues = newCues || [];
    current = -1;
    list.textContent = "";
    list.hidden = !cues.length;
    cues.forEach(function (cue) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      var time = document.createElement("span");
      time.className = "time";
      time.textContent = fmt(cue.start_s);
      b.appendChild(time);
      if (cue.speaker) {
        var who = document.createElement("strong");
        who.textContent = cue.speaker + ": ";
        b.appendChild(who);
      }
      b.appendChild(document.createTextNode(cue.text));  // text, never HTML
      b.tabIndex = -1;  // one tab stop for the whole transcript; the arrow keys move within it
      b.addEventListener("click", function () { seekTo(cue.start_s); });
      li.appendChild(b);
      list.appendChild(li);
    });
    rove(0);
    follow();
  }

  // the transcript is one stop in the tab order (the line playing, else the first); Up/Down,
  // Home/End move between lines, Enter or Space plays from the line (WAI-ARIA roving tabindex)
  function rove(idx) {
    var buttons = list.querySelectorAll("button");
    if (!buttons.length) return null;
    idx = Math.max(0, Math.min(buttons.length - 1, idx));
    for (var i = 0; i < buttons.length; i++) buttons[i].tabIndex = i === idx ? 0 : -1;
    return buttons[idx];
  }

  list.addEventListener("keydown", function (e) {
    var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
    var at = buttons.indexOf(document.activeElement), to = null;
    if (at < 0) return;
    if (e.key === "ArrowDown") to = at + 1;
    else if (e.key === "ArrowUp") to = at - 1;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = buttons.length - 1;
    if (to === null) return;
    e.preventDefault();
    var b = rove(to);
    if (b) b.focus();
  });

  function isTyping(el) {
    var tag = (el && el.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || (el && el.isContentEditable);
  }

  function pressesOnSpace(el) {
    var tag = (el && el.tagName || "").toLowerCase();
    var role = el && el.getAttribute && el.getAttribute("role");
    return tag === "button" || tag === "a" || tag === "summary" || tag === "audio" || tag === "video"
      || ["button", "radio", "checkbox", "tab", "switch", "link", "option", "menuitem"].indexOf(role) >= 0;
  }

  function scoreFocused(el, key) {
    var box = el && el.closest && el.closest("[class*='st-key-item_']");
    if (!box) return false;
    var options = box.querySelectorAll("[role='radio']");
    for (var i = 0; i < options.length; i++) {
      if (options[i].textContent.trim() === key && !options[i].disabled) { options[i].click(); return true; }
    }
    return false;
  }

  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    var k = e.key, done = true;
    if (k === "k" || (k === " " && !pressesOnSpace(e.target))) toggle();
    else if (k === "j") seekTo((media ? media.currentTime : 0) - 5);
    else if (k === "l") seekTo((media ? media.currentTime : 0) + 5);
    else if (k === "m") mark();
    else if (/^[1-5]$/.test(k)) done = scoreFocused(e.target, k);
    else done = false;
    if (done) e.preventDefault();
  }

  // listen on the page around the frame as well; one listener however often the frame reloads
  function listenOnPage() {
    try {
      var host = window.parent, doc = host.document;
      if (host.__iptPlayerKeys) doc.removeEventListener("keydown", host.__iptPlayerKeys);
      host.__iptPlayerKeys = onKey;
      doc.addEventListener("keydown", onKey);
      window.addEventListener("pagehide", function () {
        if (host.__iptPlayerKeys === onKey) { doc.removeEventListener("keydown", onKey); host.__iptPlayerKeys = null; }
      });
      if (window.frameElement) window.frameElement.setAttribute("title", "Recording player and transcript");
    } catch (err) { /* another origin: the keys work inside the player only */ }
  }

  function applyTheme(theme) {
    if (!theme) return;
    var r = document.documentElement.style;
    if (theme.primaryColor) r.setProperty("--primary", theme.primaryColor);
    if (theme.backgroundColor) r.setProperty("--bg", theme.backgroundColor);
    if (theme.secondaryBackgroundColor) r.setProperty("--bg2", theme.secondaryBackgroundColor);
    if (theme.textColor) r.setProperty("--text", theme.textColor);
    if (theme.font) r.setProperty("--font", theme.font);
  }

  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type !== "streamlit:render") return;
    var args = data.args || {};
    applyTheme(data.theme);
    canMark = !!args.can_mark;
    markBtn.hidden = !canMark;
    document.getElementById("keys").hidden = !args.url;
    setMedia(args.url || null, args.media_type, args.message);
    setCues(args.cues);
    markBtn.disabled = !media;
    var seek = args.seek;
    if (seek && seek.n !== lastSeek) { lastSeek = seek.n; seekTo(seek.t); }
    resize();
  });

  // Streamlit's page (1.67, React 18.3.1) loads each kind of widget's code on its first use and
  // shows a grey placeholder (stSkeleton) until it arrives. On a busy machine the page can stay on
  // the placeholders after the code has arrived: React keeps retrying the placeholders' render
  // without ever committing it (seen in headless Chromium under load: the score buttons, the mark
  // time and the comment box stayed grey for minutes, the code loaded, React's retry work pending;
  // any rerun draws them). So when, with no script run going, placeholders stay in the main area
  // for 3 s, ask for one rerun (at most 3 per page): the rater always gets the score buttons.
  var redraws = 0, stuckSince = null;
  function watchPlaceholders() {
    var doc;
    try { doc = window.parent.document; } catch (err) { return; }  // another origin: nothing to watch
    var app = doc.querySelector("[data-testid='stApp']");
    var idle = app && app.getAttribute("data-test-script-state") === "notRunning";
    var stuck = idle && doc.querySelector(
      "[data-testid='stMain'] [data-testid='stElementContainer'] > [data-testid='stSkeleton']");
    if (!stuck) { stuckSince = null; return; }
    if (stuckSince === null) { stuckSince = Date.now(); return; }
    if (Date.now() - stuckSince < 3000 || redraws >= 3) return;
    redraws += 1;
    stuckSince = null;
    if (window.console) console.info("rating player: widgets still placeholders after 3 s; asking for a rerun");
    post("streamlit:setComponentValue", {dataType: "json", value: {
      kind: "redraw", nonce: Date.now().toString(36) + Math.random().toString(36).slice(2)}});
  }
  setInterval(watchPlaceholders, 1000);

  playBtn.addEventListener("click", toggle);
  markBtn.addEventListener("click", mark);
  speed.addEventListener("change", function () {
    if (media) media.defaultPlaybackRate = media.playbackRate = parseFloat(speed.value);
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", resize);
  listenOnPage();
  post("streamlit:componentReady", {apiVersion: 1});
})();
