// The technician's work screens, offline first. Every action (check-in/out, an
// answer, a photo or signature) is written to a queue in IndexedDB with its own
// idempotency key, the time it happened and, for check-in/out, the position;
// the page sends the queue in order whenever it is open and online. The server
// applies each key once, so sending twice is harmless. Without this file the
// forms post normally.
(function () {
  "use strict";
  var DB_NAME = "onsite-work", STORE = "queue";
  var statusBox = document.getElementById("sync-status");
  var draining = false;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var out = fn(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }

  function all() { return tx("readonly", function (s) { return s.getAll(); }); }
  function add(item) { return tx("readwrite", function (s) { return s.add(item); }); }
  function remove(seq) { return tx("readwrite", function (s) { return s.delete(seq); }); }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function showCount() {
    if (!statusBox) { return Promise.resolve(); }
    return all().then(function (items) {
      statusBox.hidden = items.length === 0;
      statusBox.querySelector("[data-sync-count]").textContent = String(items.length);
      statusBox.querySelector("[data-sync-label]").textContent =
        (items.length === 1 ? "action" : "actions") + " waiting to sync" +
        (navigator.onLine ? "" : " (offline)");
      var warning = statusBox.querySelector("[data-sync-warning]");
      if (warning) { warning.hidden = items.length === 0 || window.__persisted === true; }
      document.body.setAttribute("data-queued", String(items.length));
    });
  }

  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        resolve({ lat: pos.coords.latitude, lon: pos.coords.longitude,
                  accuracy: pos.coords.accuracy,
                  taken_at: new Date(pos.timestamp).toISOString() });
      }, function () { resolve(null); },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 });
    });
  }

  function formAction(form) {
    var kind = form.getAttribute("data-queue");
    var item = {
      key: form.elements.key.value,
      action: kind === "proof" ? "proof" : kind,
      assignment_id: parseInt(form.getAttribute("data-assignment"), 10),
      recorded_at: new Date().toISOString(),
      data: {},
      label: kind
    };
    var taskItem = form.closest("li.task");
    if (taskItem && taskItem.querySelector("strong")) {
      item.label = taskItem.querySelector("strong").textContent;
    }
    if (kind === "check_in" || kind === "check_out") {
      item.label = kind === "check_in" ? "Check-in" : "Check-out";
      return position().then(function (pos) {
        item.data.position = pos;
        item.data.reason = form.elements.reason ? form.elements.reason.value : "";
        return item;
      });
    }
    item.data.task = form.getAttribute("data-task");
    if (kind === "answer") {
      var taskKind = form.getAttribute("data-kind");
      if (taskKind === "confirm") { item.data.value = { done: true }; }
      else if (taskKind === "text") { item.data.value = { text: form.elements.text.value }; }
      else if (taskKind === "number") { item.data.value = { number: form.elements.number.value }; }
      else {
        var checked = form.querySelector('input[name="choice"]:checked');
        item.data.value = { choice: checked ? checked.value : null };
      }
      return Promise.resolve(item);
    }
    if (form.elements.signer_name) { item.data.signer_name = form.elements.signer_name.value; }
    var canvas = form.querySelector("canvas.signature-pad");
    var fileInput = form.querySelector('input[type="file"]');
    var file = fileInput && fileInput.files && fileInput.files[0];
    return position().then(function (pos) {
      if (pos) { item.data.position = { lat: pos.lat, lon: pos.lon }; }
      if (file) { item.file = file; item.filename = file.name; return item; }
      if (canvas) {
        return new Promise(function (resolve) {
          canvas.toBlob(function (blob) { item.file = blob; item.filename = "signature.png"; resolve(item); }, "image/png");
        });
      }
      return item;
    });
  }

  function send(item) {
    var action = { key: item.key, action: item.action, assignment_id: item.assignment_id,
                   recorded_at: item.recorded_at, data: item.data };
    var options = { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } };
    if (item.file) {
      var body = new FormData();
      body.append("action", JSON.stringify(action));
      body.append("file", item.file, item.filename || "upload");
      options.body = body;
    } else {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify({ actions: [action] });
    }
    return fetch("/work/sync", options).then(function (response) {
      if (response.status >= 500 || response.status === 429 || response.status === 401) {
        throw new Error("try later");
      }
      return response.json();
    });
  }

  function drain() {
    if (draining || !navigator.onLine) { return showCount(); }
    draining = true;
    var sent = 0, errors = [];
    function next() {
      return all().then(function (items) {
        if (!items.length) { return; }
        var item = items[0];
        return send(item).then(function (body) {
          var result = body.results && body.results[0];
          if (result && result.status >= 400 && !result.duplicate) {
            errors.push(item.label + ": " + result.result.error.message);
          }
          sent += 1;
          return remove(item.seq).then(next);
        });
      });
    }
    return next().catch(function () { /* offline again: keep the rest */ })
      .then(function () {
        draining = false;
        return showCount();
      }).then(function () {
        if (errors.length) { window.alert(errors.join("\n")); }
        if (sent && navigator.onLine) { window.location.reload(); }
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-queue") || !window.indexedDB) { return; }
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    if (button) { button.disabled = true; }
    formAction(form).then(add).then(function () {
      form.elements.key.value = (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "") :
        String(Date.now()) + Math.random().toString(16).slice(2);
      var task = form.closest("li.task");
      var state = task && task.querySelector(".task-state");
      if (task) { task.classList.add("pending"); }
      if (state) { state.textContent = "Saved on phone"; }
      if (button) { button.disabled = false; }
      return drain();
    });
  });

  // Signature pads: draw with a finger or a mouse.
  Array.prototype.forEach.call(document.querySelectorAll("canvas.signature-pad"), function (canvas) {
    var ctx = canvas.getContext("2d"), drawing = false;
    ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    function point(e) {
      var r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    }
    canvas.addEventListener("pointerdown", function (e) { drawing = true; var p = point(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]); canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointermove", function (e) { if (!drawing) { return; } var p = point(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); });
    canvas.addEventListener("pointerup", function () { drawing = false; });
    var file = canvas.parentNode.querySelector(".signature-file");
    if (file) { file.hidden = true; file.required = false; }
  });

  window.addEventListener("online", drain);
  window.addEventListener("offline", showCount);
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().then(function (granted) { window.__persisted = granted; showCount(); });
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then(function () {
      // Cache today's and tomorrow's work pages for when there is no signal.
      Array.prototype.forEach.call(document.querySelectorAll("a[data-prefetch]"), function (link) {
        fetch(link.href, { credentials: "same-origin" }).catch(function () {});
      });
    }).catch(function () {});
  }
  drain();
})();
