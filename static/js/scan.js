// Scan stations: capture each scan at Enter, clear the input at once, post it with a
// fresh scan_id through htmx.ajax; the form's hx-sync="this:queue all" keeps a burst
// complete and in order (RECIPES.md, "Scanner forms with htmx"). No inline script: CSP.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-code");
  if (!form || !input || !window.htmx) {
    return;
  }
  var audio = null;

  function scanId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function send(code, action) {
    // form.action would be the button named "action": read the attribute.
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: form,
      target: "#scan-answer",
      swap: "innerHTML",
      values: { code: code, scan_id: scanId(), action: action || "" },
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var submitter = event.submitter;
    var action = submitter && submitter.name === "action" ? submitter.value : "";
    var code = input.value;
    input.value = "";
    input.focus();
    if (!action && code.trim() === "") {
      return;
    }
    send(code, action);
  });

  input.addEventListener("keydown", function (event) {
    // The browser's AudioContext may only start after a user gesture.
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
      // Keyboard-wedge scanners send the GS1 group separator as Ctrl+].
      event.preventDefault();
      var start = input.selectionStart;
      var end = input.selectionEnd;
      input.value = input.value.slice(0, start) + "\x1d" + input.value.slice(end);
      input.selectionStart = input.selectionEnd = start + 1;
    } else if (event.key === "Escape") {
      event.preventDefault();
      input.value = "";
      send("", "cancel");
    }
  });

  function tone(frequency, seconds) {
    if (!audio) {
      return;
    }
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.value = 0.2;
    oscillator.connect(gain);
    gain.connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + seconds);
  }

  document.body.addEventListener("scan-ok", function () {
    tone(880, 0.08);
  });
  document.body.addEventListener("scan-error", function () {
    tone(220, 0.25);
  });
  var log = document.getElementById("scan-log");

  function addLogRow(answer) {
    // An htmx answer carries only its new log row (a <template>): put it on top of the
    // log, drop the "No scans yet." line and keep the log as long as the page shows it.
    var rows = answer.querySelectorAll("template.scan-log-new");
    for (var i = 0; i < rows.length; i++) {
      if (log) {
        log.insertBefore(rows[i].content.cloneNode(true), log.firstChild);
      }
      rows[i].remove();
    }
    if (!log || !rows.length) {
      return;
    }
    var empty = log.querySelector(".scan-log-empty");
    if (empty) {
      empty.remove();
    }
    var length = parseInt(log.getAttribute("data-length"), 10) || 10;
    while (log.children.length > length) {
      log.removeChild(log.lastElementChild);
    }
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "scan-answer") {
      addLogRow(event.detail.target);
    }
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    input.focus();
  });
})();
