// The CSV upload page: say how many rows the chosen file has, and show a working state
// while the server checks and creates them (a large file takes a while). Without this
// file the form works the same; the result page counts the rows either way.
(function () {
  "use strict";

  // Records in CSV text: line breaks outside quotes, blank lines not counted, minus the header.
  function countRows(text) {
    var records = 0, quoted = false, filled = false;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (c === '"') {
        quoted = !quoted;
        filled = true;
      } else if ((c === "\n" || c === "\r") && !quoted) {
        if (filled) records++;
        filled = false;
        if (c === "\r" && text.charAt(i + 1) === "\n") i++;
      } else if (!quoted && c !== "," && c !== " " && c !== "\t") {
        filled = true;
      } else if (quoted) {
        filled = true;
      }
    }
    if (filled) records++;
    return Math.max(0, records - 1);
  }

  function start() {
    var form = document.querySelector("form[data-working]");
    if (!form) return;
    var input = form.querySelector("input[type=file]");
    var status = document.getElementById("import-status");
    var text = status && status.querySelector("[data-working-text]");
    var hint = document.getElementById("import-file-rows");
    var rows = null;
    var name = "";

    if (input && window.FileReader) {
      input.addEventListener("change", function () {
        rows = null;
        var file = input.files && input.files[0];
        if (!file) return;
        name = file.name;
        file.text().then(function (content) {
          rows = countRows(content);
          if (hint) {
            hint.textContent = name + ": " + rows + (rows === 1 ? " row." : " rows.");
            hint.hidden = false;
          }
        });
      });
    }

    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      var what = form.getAttribute("data-working");
      if (rows !== null) {
        what += " (" + name + ": " + rows + (rows === 1 ? " row)" : " rows)");
      }
      if (button) {
        button.textContent = "Working…";
        button.setAttribute("aria-disabled", "true");
        // Disabled after the browser has taken the form's data, so the upload still goes.
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
      form.setAttribute("aria-busy", "true");
      if (status && text) {
        text.textContent = what + ".";
        status.hidden = false;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
